namespace Remix.Data.Formats;

/// <summary>
/// TriviaQA: <c>{"Data": [{Question, QuestionId, Answer: {Value, Aliases}}]}</c>. Prompts get the
/// suffix <c>\nThe answer is: </c>; the answer's aliases all count.
/// </summary>
internal sealed class TriviaQaFormat : IDatasetFormat
{
    public string Name => "triviaqa";
    public string Description => "TriviaQA: {\"Data\": [{Question, Answer: {Value, Aliases}}]}; prompt + \"\\nThe answer is: \"";

    public bool Matches(FileProbe p) => p.JsonObject && p.Has("Data");

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options) => Formats.Rows.JsonList(path, (f, line) =>
    {
        var question = Formats.Rows.RequiredText(f, "Question");
        var answer = f.OptionalObject("Answer") ?? throw f.Error("Answer", "an object with Value and Aliases", f.Raw("Answer"));
        var value = Formats.Rows.RequiredText(answer, "Value");
        var aliases = Formats.Rows.StringList(answer, "Aliases", required: false);
        var id = f.OptionalString("QuestionId") ?? line.ToString();
        return RowOutcome.Of(Example.QuestionAnswer($"triviaqa-{id}", "triviaqa", question + QuestionPrompts.AnswerIsSuffix, value, aliases));
    }, property: "Data");
}
