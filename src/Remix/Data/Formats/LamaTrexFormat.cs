using Remix.IO;

namespace Remix.Data.Formats;

/// <summary>
/// LAMA T-REx: JSON Lines of facts (<c>sub_label</c>, <c>obj_label</c>, <c>predicate_id</c>) plus relation
/// templates such as <c>[X] was born in [Y] .</c>. Facts become <b>cloze prompts</b>: when the template
/// ends with [Y], the prompt is the text before it ("Dante was born in" -> "Florence"); otherwise it is
/// "Fill in the blank: " with [Y] shown as ___. Templates come from <c>--templates</c>, else a
/// <c>relations.jsonl</c> next to the data (or up to two folders above), else LAMA's own templates built in.
/// </summary>
internal sealed class LamaTrexFormat : IDatasetFormat
{
    public string Name => "lama-trex";
    public string Description => "LAMA T-REx: JSONL {sub_label, obj_label, predicate_id} + relation templates, turned into cloze prompts";

    public bool Matches(FileProbe p) => p.Has("sub_label", "obj_label");

    /// <summary>The templates of LAMA's <c>relations.jsonl</c> for the 41 T-REx relations.</summary>
    public static readonly IReadOnlyDictionary<string, string> BuiltInTemplates = new Dictionary<string, string>
    {
        ["P1001"] = "[X] is a legal term in [Y] .", ["P101"] = "[X] works in the field of [Y] .",
        ["P103"] = "The native language of [X] is [Y] .", ["P106"] = "[X] is a [Y] by profession .",
        ["P108"] = "[X] works for [Y] .", ["P127"] = "[X] is owned by [Y] .", ["P1303"] = "[X] plays [Y] .",
        ["P131"] = "[X] is located in [Y] .", ["P136"] = "[X] plays [Y] music .", ["P1376"] = "[X] is the capital of [Y] .",
        ["P138"] = "[X] is named after [Y] .", ["P140"] = "[X] is affiliated with the [Y] religion .",
        ["P1412"] = "[X] used to communicate in [Y] .", ["P159"] = "The headquarter of [X] is in [Y] .",
        ["P17"] = "[X] is located in [Y] .", ["P176"] = "[X] is produced by [Y] .", ["P178"] = "[X] is developed by [Y] .",
        ["P19"] = "[X] was born in [Y] .", ["P190"] = "[X] and [Y] are twin cities .", ["P20"] = "[X] died in [Y] .",
        ["P264"] = "[X] is represented by music label [Y] .", ["P27"] = "[X] is [Y] citizen .",
        ["P276"] = "[X] is located in [Y] .", ["P279"] = "[X] is a subclass of [Y] .", ["P30"] = "[X] is located in [Y] .",
        ["P31"] = "[X] is a [Y] .", ["P36"] = "The capital of [X] is [Y] .", ["P361"] = "[X] is part of [Y] .",
        ["P364"] = "The original language of [X] is [Y] .", ["P37"] = "The official language of [X] is [Y] .",
        ["P39"] = "[X] has the position of [Y] .", ["P407"] = "[X] was written in [Y] .",
        ["P413"] = "[X] plays in [Y] position .", ["P449"] = "[X] was originally aired on [Y] .",
        ["P463"] = "[X] is a member of [Y] .", ["P47"] = "[X] shares border with [Y] .", ["P495"] = "[X] was created in [Y] .",
        ["P527"] = "[X] consists of [Y] .", ["P530"] = "[X] maintains diplomatic relations with [Y] .",
        ["P740"] = "[X] was founded in [Y] .", ["P937"] = "[X] used to work in [Y] .",
    };

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options)
    {
        var templates = LoadTemplates(path, options.TemplatesPath);
        return Formats.Rows.JsonLines(path, (f, line) =>
        {
            var subject = Formats.Rows.RequiredText(f, "sub_label");
            var answer = Formats.Rows.RequiredText(f, "obj_label");
            var relation = f.OptionalString("predicate_id") ?? RelationFromFileName(path)
                ?? throw f.Error("predicate_id", "a relation id such as \"P19\"", null);
            if (!templates.TryGetValue(relation, out var template))
                throw new InvalidInputException(f.File, $"field 'predicate_id': no template for relation {relation} (pass --templates relations.jsonl)");
            var id = f.OptionalString("uuid") ?? $"{relation}-{line}";
            return RowOutcome.Of(Example.QuestionAnswer($"lama-{id}", "lama-trex", ClozePrompt(template, subject), answer) with
            {
                Subject = subject,
                Relation = relation,
            });
        });
    }

    /// <summary>"[X] was born in [Y] ." with X = Dante gives "Dante was born in".</summary>
    public static string ClozePrompt(string template, string subject)
    {
        var filled = template.Replace("[X]", subject).Trim();
        var withoutStop = filled.EndsWith(" .", StringComparison.Ordinal) ? filled[..^2] : filled.TrimEnd('.');
        if (withoutStop.EndsWith("[Y]", StringComparison.Ordinal)) return withoutStop[..^3].TrimEnd();
        return "Fill in the blank: " + filled.Replace("[Y]", "___").Replace(" .", ".");
    }

    static string? RelationFromFileName(string path) =>
        Path.GetFileNameWithoutExtension(path) is { } n && n.StartsWith('P') && n[1..].All(char.IsDigit) ? n : null;

    static Dictionary<string, string> LoadTemplates(string dataPath, string? explicitPath)
    {
        var templates = new Dictionary<string, string>(BuiltInTemplates);
        var file = TemplatesFile(dataPath, explicitPath);
        if (file is null) return templates;
        foreach (var (line, text) in Utf8Lines.Read(file))
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            using var doc = JsonFields.ParseBytes(System.Text.Encoding.UTF8.GetBytes(text), $"{file}: line {line}");
            var f = new JsonFields(doc.RootElement, $"{file}: line {line}");
            var relation = Formats.Rows.RequiredText(f, "relation");
            var template = Formats.Rows.RequiredText(f, "template");
            if (!template.Contains("[X]") || !template.Contains("[Y]"))
                throw f.Error("template", "a template containing [X] and [Y]", f.Raw("template"));
            templates[relation] = template;
        }
        return templates;
    }

    /// <summary>
    /// The templates file a LAMA data file is read with: <paramref name="explicitPath"/>, else the first
    /// <c>relations.jsonl</c> beside the data or up to two folders above; null: the built-in templates alone.
    /// </summary>
    public static string? TemplatesFile(string dataPath, string? explicitPath) => explicitPath ?? Candidates(dataPath).FirstOrDefault(File.Exists);

    static IEnumerable<string> Candidates(string dataPath)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(dataPath));
        for (int up = 0; up < 3 && dir is not null; up++, dir = Path.GetDirectoryName(dir))
            yield return Path.Combine(dir, "relations.jsonl");
    }
}
