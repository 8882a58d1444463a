namespace Remix.Evaluation;

/// <summary>One example's prediction and how it scored.</summary>
public sealed record PredictionRecord(string Id, string Question, string Prediction, IReadOnlyList<string> Answers, bool Correct, double RougeL);

/// <summary>
/// Accuracy (exact match by the paper's rule, over examples that have gold answers) and mean
/// ROUGE-L (over all examples, against the answers or the target), with the per-example predictions.
/// </summary>
public sealed record EvaluationResult(string Name, double Accuracy, double RougeL, IReadOnlyList<PredictionRecord> Predictions)
{
    public int Correct => Predictions.Count(p => p.Correct);
}
