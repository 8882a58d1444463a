namespace Remix.Data.Formats;

/// <summary>Evol-Instruct-Code: a JSON list (or JSON Lines) of <c>{instruction, output}</c>.</summary>
internal sealed class EvolInstructCodeFormat : IDatasetFormat
{
    public string Name => "evol-instruct-code";
    public string Description => "Evol-Instruct-Code: [{instruction, output}] (JSON list or JSONL)";

    public bool Matches(FileProbe p) => p.Has("instruction", "output");

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options) => Formats.Rows.AnyJson(FileProbe.Of(path), (f, line) =>
        RowOutcome.Of(Example.QuestionAnswer(Formats.Rows.LineId(path, line), "evol-instruct-code",
            Formats.Rows.RequiredText(f, "instruction"), Formats.Rows.RequiredText(f, "output"), kind: ExampleKind.NonFactoid)));
}
