namespace Remix.Data.Formats;

/// <summary>
/// APPS: JSON Lines with <c>question</c>, <c>solutions</c> (a JSON list in a string), <c>starter_code</c>,
/// <c>input_output</c>, <c>difficulty</c>. The prompt is the question (plus the starter code, if any);
/// the target is the first solution. Problems without a solution are skipped and counted.
/// </summary>
internal sealed class AppsFormat : IDatasetFormat
{
    public string Name => "apps";
    public string Description => "APPS: JSONL {question, solutions, starter_code, ...}; target = first solution; problems without one skipped";

    public bool Matches(FileProbe p) => p.Has("question", "solutions");

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options) => Formats.Rows.JsonLines(path, (f, line) =>
    {
        var question = Formats.Rows.RequiredText(f, "question");
        var solutions = f.Raw("solutions") is { ValueKind: System.Text.Json.JsonValueKind.String } s && string.IsNullOrWhiteSpace(s.GetString())
            ? []
            : Formats.Rows.StringList(f, "solutions", required: false);
        if (solutions.Count == 0) return RowOutcome.Skip("no solution");
        var starter = f.OptionalString("starter_code");
        var prompt = string.IsNullOrWhiteSpace(starter) ? question : $"{question}\n\nStarter code:\n{starter}";
        var id = f.Raw("problem_id")?.ToString() ?? line.ToString();
        return RowOutcome.Of(Example.QuestionAnswer($"apps-{id}", "apps", prompt, solutions[0], kind: ExampleKind.NonFactoid) with
        {
            Relation = f.OptionalString("difficulty"),
        });
    });
}
