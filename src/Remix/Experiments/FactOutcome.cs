namespace Remix.Experiments;

/// <summary>One fact of a stage's set in <see cref="ExperimentResults"/>: whether it was answered right after each stage, and when it was lost.</summary>
public sealed record FactOutcome
{
    /// <summary>Exact match after stage 1, 2, ... (every row of the joint run is its one evaluation).</summary>
    public required IReadOnlyList<bool> CorrectAfterStage { get; init; }

    /// <summary>The first stage after the one that taught the fact at which it was answered wrongly, having been right; null if never.</summary>
    public string? ForgottenAtStage { get; init; }
}
