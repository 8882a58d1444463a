using System.Text.RegularExpressions;

namespace Remix.Data.Formats;

/// <summary>
/// EntityQuestions: one JSON list of <c>{question, answers}</c> per relation file (<c>P17.train.json</c>);
/// the relation is taken from the file name.
/// </summary>
internal sealed partial class EntityQuestionsFormat : IDatasetFormat
{
    public string Name => "entityquestions";
    public string Description => "EntityQuestions: JSON list of {question, answers} per relation file (relation from the file name)";

    public bool Matches(FileProbe p) => p.JsonList && p.Has("question", "answers") && !p.Has("qId");

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options)
    {
        var relation = RelationPattern().Match(Path.GetFileName(path)) is { Success: true } m ? m.Value : null;
        return Formats.Rows.JsonList(path, (f, line) =>
        {
            var question = Formats.Rows.RequiredText(f, "question");
            var answers = Formats.Rows.StringList(f, "answers");
            return RowOutcome.Of(Example.QuestionAnswer($"entityquestions-{relation ?? "q"}-{line}", "entityquestions", question, answers[0], answers) with
            {
                Relation = relation,
            });
        });
    }

    [GeneratedRegex(@"^P\d+")]
    private static partial Regex RelationPattern();
}
