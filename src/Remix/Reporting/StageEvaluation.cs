namespace Remix.Reporting;

/// <summary>
/// One evaluation of an earlier stage's set while a later stage trained, as its metrics log records it: the set's scores
/// (NaN where not taken) and, where the log records them, each fact's exact match and gold log-probability (NaN where not taken).
/// </summary>
/// <param name="Step">The optimizer step of the stage that was training.</param>
/// <param name="Set">The stage whose set was evaluated.</param>
/// <param name="Accuracy">Exact match on the set.</param>
/// <param name="TokenAccuracy">Answer-token accuracy on the set.</param>
/// <param name="GoldLogProb">Mean gold log-probability on the set.</param>
/// <param name="Facts">Per fact id, null in logs written before Remix recorded facts one by one.</param>
public sealed record StageEvaluation(int Step, string Set, double Accuracy, double TokenAccuracy, double GoldLogProb,
    IReadOnlyDictionary<string, (bool Correct, double GoldLogProb)>? Facts);
