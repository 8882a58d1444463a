using Remix.Data;

namespace Remix.Evaluation;

/// <summary>
/// The paper's correctness rule: <c>pred.strip().lower() == gold.strip().lower()</c> for any gold
/// answer or alias; for WebQuestions, the stripped lowercase prediction must be a non-empty
/// substring of a gold answer.
/// </summary>
public static class AnswerMatcher
{
    public static bool IsCorrect(string prediction, IReadOnlyList<string> answers, AnswerMatch match = AnswerMatch.Exact)
    {
        var p = Normalize(prediction);
        return match switch
        {
            AnswerMatch.PredictionInGold => p.Length > 0 && answers.Any(a => Normalize(a).Contains(p, StringComparison.Ordinal)),
            _ => answers.Any(a => Normalize(a) == p),
        };
    }

    public static bool IsCorrect(string prediction, Example example) => IsCorrect(prediction, example.Answers, example.Match);

    /// <summary>Python's <c>str.strip().lower()</c>.</summary>
    public static string Normalize(string s) => s.Trim().ToLowerInvariant();
}
