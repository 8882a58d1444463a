using System.Text.RegularExpressions;

namespace Remix.Data.Formats;

/// <summary>
/// WebQuestions in both layouts: the original <c>{url, targetValue, utterance}</c> with answers in
/// <c>(list (description ...))</c>, and <c>{qId, answers, qText}</c>. A prediction counts as correct
/// when it is a substring of a gold answer.
/// </summary>
internal sealed partial class WebQuestionsFormat : IDatasetFormat
{
    public string Name => "webquestions";
    public string Description => "WebQuestions: {url, targetValue, utterance} or {qId, answers, qText}; correct if the prediction is inside a gold answer";

    public bool Matches(FileProbe p) => p.Has("qId", "answers", "qText") || p.Has("targetValue", "utterance");

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options) => Formats.Rows.JsonList(path, (f, line) =>
    {
        string question, id;
        List<string> answers;
        if (f.Has("utterance"))
        {
            question = Formats.Rows.RequiredText(f, "utterance");
            var target = Formats.Rows.RequiredText(f, "targetValue");
            answers = ParseTargetValue(target);
            if (answers.Count == 0) throw f.Error("targetValue", "(list (description ...) ...) with at least one answer", f.Raw("targetValue"));
            id = $"webquestions-{line}";
        }
        else
        {
            question = Formats.Rows.RequiredText(f, "qText");
            answers = Formats.Rows.StringList(f, "answers");
            id = $"webquestions-{f.Raw("qId")?.ToString() ?? line.ToString()}";
        }
        return RowOutcome.Of(Example.QuestionAnswer(id, "webquestions", question, answers[0], answers) with { Match = AnswerMatch.PredictionInGold });
    });

    /// <summary>Answers of <c>(list (description "Jazmine Sullivan") (description Christopher))</c>.</summary>
    public static List<string> ParseTargetValue(string target) =>
        [.. DescriptionPattern().Matches(target).Select(m => m.Groups["q"].Success ? m.Groups["q"].Value.Replace("\\\"", "\"") : m.Groups["w"].Value)];

    [GeneratedRegex("""\(description\s+(?:"(?<q>(?:[^"\\]|\\.)*)"|(?<w>[^()\s]+))\)""")]
    private static partial Regex DescriptionPattern();
}
