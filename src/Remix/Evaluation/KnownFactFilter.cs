using Remix.Checkpoints;
using Remix.Data;
using Remix.Models;
using Remix.Tokenization;

namespace Remix.Evaluation;

/// <summary>
/// The facts a model already answers correctly (known) and the rest (unknown, "yet to learn"), with its
/// predictions in the facts' order (written like <c>remix eval</c>'s, by <see cref="Evaluator.WritePredictions"/>).
/// </summary>
public sealed record KnownSplit(IReadOnlyList<Example> Known, IReadOnlyList<Example> Unknown, IReadOnlyList<PredictionRecord> Predictions);

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
        // A fixed budget N is a margin of N capped at N.
        var evaluator = maxNewTokens is { } n
            ? new Evaluator(loaded, template) { BatchSize = batchSize, Margin = n, MaxNewTokens = n, TeacherForced = false }
            : new Evaluator(loaded, template) { BatchSize = batchSize, Margin = extraTokens, TeacherForced = false };
        var records = evaluator.Evaluate("facts", facts).Predictions;
        var correct = records.Where(r => r.Correct).Select(r => r.Id).ToHashSet();
        return new KnownSplit([.. facts.Where(f => correct.Contains(f.Id))], [.. facts.Where(f => !correct.Contains(f.Id))], records);
    }
}
