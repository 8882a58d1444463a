namespace Remix.Data.Formats;

/// <summary>
/// MATH: <c>{problem, solution, level, type}</c>, one problem per .json file as released (a file or a
/// directory of them), or many in JSON Lines or a JSON list.
/// </summary>
internal sealed class MathFormat : IDatasetFormat
{
    public string Name => "math";
    public string Description => "MATH: {problem, solution, level, type}: one file per problem (file or directory), JSONL or a JSON list";

    public bool Matches(FileProbe p) => p.Has("problem", "solution") || (p.IsDirectory && FirstJson(p.Path) is { } f && FileProbe.Of(f).Has("problem", "solution"));

    static string? FirstJson(string directory) =>
        Directory.EnumerateFiles(directory, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal).FirstOrDefault();

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options)
    {
        if (!Directory.Exists(path)) return Formats.Rows.AnyJson(FileProbe.Of(path), (f, line) => Parse(f, path, line));
        return Directory.EnumerateFiles(path, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .SelectMany(file => Formats.Rows.AnyJson(FileProbe.Of(file), (f, line) => Parse(f, file, line)));
    }

    static RowOutcome Parse(Remix.IO.JsonFields f, string path, int line) => RowOutcome.Of(
        Example.QuestionAnswer(Formats.Rows.LineId(path, line), "math", Formats.Rows.RequiredText(f, "problem"),
            Formats.Rows.RequiredText(f, "solution"), kind: ExampleKind.NonFactoid) with
        {
            Relation = f.OptionalString("type"),
        });
}
