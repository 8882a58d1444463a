namespace Remix.Data.Formats;

/// <summary>GSM8K: JSON Lines of <c>{question, answer}</c>, the answer a worked solution ending in <c>#### N</c>.</summary>
internal sealed class Gsm8kFormat : IDatasetFormat
{
    public string Name => "gsm8k";
    public string Description => "GSM8K: JSONL {question, answer}; the whole worked answer is the target";

    public bool Matches(FileProbe p) => p.Has("question", "answer") && p.RawValues.GetValueOrDefault("answer", "").Contains("####");

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options) => Formats.Rows.JsonLines(path, (f, line) =>
        RowOutcome.Of(Example.QuestionAnswer(Formats.Rows.LineId(path, line), "gsm8k",
            Formats.Rows.RequiredText(f, "question"), Formats.Rows.RequiredText(f, "answer"), kind: ExampleKind.NonFactoid)));
}
