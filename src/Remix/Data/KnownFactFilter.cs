using Remix.Evaluation;
using Remix.Models;
using Remix.Tokenization;

namespace Remix.Data;

/// <summary>The facts a model already answers correctly (known) and the rest (unknown, "yet to learn"), with its predictions.</summary>
public sealed record KnownSplit(IReadOnlyList<Example> Known, IReadOnlyList<Example> Unknown, IReadOnlyDictionary<string, string> Predictions);

/// <summary>
/// "Yet to learn" filtering: asks the model every question greedily (chat template, stop at EOS) and
/// keeps apart the facts it already answers by the paper's rule.
/// </summary>
public static class KnownFactFilter
{
    /// <summary>
    /// Generates up to <paramref name="maxNewTokens"/> tokens per question, or by default the longest
    /// gold answer of the batch plus <paramref name="extraTokens"/>.
    /// </summary>
    public static KnownSplit Split(LoadedModel loaded, IReadOnlyList<Example> facts, ChatTemplate? template = null, int batchSize = 32,
        int extraTokens = 8, int? maxNewTokens = null)
    {
        var evaluator = new Evaluator(loaded, template) { BatchSize = batchSize, Margin = extraTokens, NewTokens = maxNewTokens, TeacherForced = false };
        var records = evaluator.Evaluate("facts", facts).Predictions;
        var correct = records.Where(r => r.Correct).Select(r => r.Id).ToHashSet();
        return new KnownSplit([.. facts.Where(f => correct.Contains(f.Id))], [.. facts.Where(f => !correct.Contains(f.Id))],
            records.ToDictionary(r => r.Id, r => r.Prediction));
    }
}
