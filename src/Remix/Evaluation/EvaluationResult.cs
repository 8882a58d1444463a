namespace Remix.Evaluation;

/// <summary>
/// One example's prediction and how it scored: exact match, ROUGE-L, and under teacher forcing on
/// the training target (answer tokens and EOS) the fraction of tokens the model ranks first and the
/// mean log-probability of the gold tokens.
/// </summary>
public sealed record PredictionRecord(string Id, string Question, string Prediction, IReadOnlyList<string> Answers, bool Correct, double RougeL,
    double TokenAccuracy = double.NaN, double GoldLogProb = double.NaN);

/// <summary>
/// Accuracy (exact match by the paper's rule, over examples that have gold answers), mean ROUGE-L
/// (over all examples, against the answers or the target), and the means over examples of
/// teacher-forced answer-token accuracy and gold log-probability, with the per-example predictions.
/// The two teacher-forced scores move before exact match does, so they show partial forgetting.
/// </summary>
public sealed record EvaluationResult(string Name, double Accuracy, double RougeL, IReadOnlyList<PredictionRecord> Predictions)
{
    public int Correct => Predictions.Count(p => p.Correct);

    /// <summary>Mean teacher-forced answer-token accuracy (NaN when not measured).</summary>
    public double TokenAccuracy => Mean(Predictions.Select(p => p.TokenAccuracy));

    /// <summary>Mean over examples of the mean gold-token log-probability (NaN when not measured).</summary>
    public double GoldLogProb => Mean(Predictions.Select(p => p.GoldLogProb));

    /// <summary>The set's scores by their snake_case names (accuracy, rouge_l, and the teacher-forced ones when measured).</summary>
    public IReadOnlyDictionary<string, double> Scores()
    {
        var scores = new Dictionary<string, double> { ["accuracy"] = Accuracy, ["rouge_l"] = RougeL };
        if (double.IsFinite(TokenAccuracy)) scores["token_accuracy"] = TokenAccuracy;
        if (double.IsFinite(GoldLogProb)) scores["gold_logprob"] = GoldLogProb;
        return scores;
    }

    static double Mean(IEnumerable<double> values)
    {
        var list = values.Where(v => !double.IsNaN(v)).ToList();
        return list.Count == 0 ? double.NaN : list.Average();
    }
}
