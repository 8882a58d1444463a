namespace Remix.Data.Formats;

/// <summary>
/// PopQA as released (<c>popQA.tsv</c>: id, subj, prop, obj, ..., question, possible_answers with JSON
/// lists in cells) and its JSON Lines re-packagings (<c>question</c> with <c>golden_answers</c> or
/// <c>possible_answers</c>). Prompts get the suffix <c>\nThe answer is: </c>.
/// </summary>
internal sealed class PopQaFormat : IDatasetFormat
{
    public string Name => "popqa";
    public string Description => "PopQA: TSV with possible_answers, or JSONL with question + golden_answers/possible_answers; prompt + \"\\nThe answer is: \"";

    public bool Matches(FileProbe p) =>
        (p.Extension == ".tsv" && p.TsvHeader.Contains("question") && p.TsvHeader.Contains("possible_answers"))
        || (!p.JsonList && p.Has("question") && (p.Has("golden_answers") || p.Has("possible_answers")));

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options)
    {
        if (!path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase))
            return Formats.Rows.JsonLines(path, (f, line) =>
            {
                var question = Formats.Rows.RequiredText(f, "question");
                var answers = Formats.Rows.StringList(f, f.Has("golden_answers") ? "golden_answers" : "possible_answers");
                var id = f.Raw("id")?.ToString() ?? Formats.Rows.LineId(path, line);
                return RowOutcome.Of(Build(id, question, answers, f.OptionalString("subj"), f.OptionalString("prop")));
            });
        return TsvRows(path);
    }

    static IEnumerable<DatasetRow> TsvRows(string path)
    {
        string[]? header = null;
        foreach (var (line, cells) in Tsv.Read(path))
        {
            if (header is null)
            {
                header = cells;
                foreach (var required in new[] { "question", "possible_answers" })
                    if (!header.Contains(required)) throw new InvalidInputException(path, $"line 1: expected a '{required}' column in the header");
                continue;
            }
            var h = header;
            yield return new DatasetRow(line, () =>
            {
                if (cells.Length != h.Length)
                    throw new InvalidInputException(path, $"line {line}: expected {h.Length} tab-separated fields, found {cells.Length}");
                string Cell(string name) => Array.IndexOf(h, name) is int i and >= 0 ? cells[i] : "";
                var question = Cell("question");
                if (string.IsNullOrWhiteSpace(question)) throw new InvalidInputException(path, $"line {line}: field 'question': expected a non-empty string");
                var answers = Formats.Rows.ParseListText(Cell("possible_answers"));
                if (answers is not { Count: > 0 })
                    throw new InvalidInputException(path, $"line {line}: field 'possible_answers': expected a non-empty list such as [\"a\", \"b\"], found \"{Truncate(Cell("possible_answers"))}\"");
                var id = Cell("id") is { Length: > 0 } i ? i : Formats.Rows.LineId(path, line);
                return RowOutcome.Of(Build(id, question, answers, NullIfEmpty(Cell("subj")), NullIfEmpty(Cell("prop"))));
            });
        }
    }

    static Example Build(string id, string question, List<string> answers, string? subject, string? relation) =>
        Example.QuestionAnswer($"popqa-{id}", "popqa", question + QuestionPrompts.AnswerIsSuffix, answers[0], answers) with
        {
            Subject = subject,
            Relation = relation,
        };

    static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
    static string Truncate(string s) => s.Length > 40 ? s[..37] + "..." : s;
}
