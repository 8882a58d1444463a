namespace Remix.Reporting;

/// <summary>
/// One configuration of a grid in its report: its value name on each axis and, over its finished seeds, the numbers
/// <see cref="ExperimentReport"/> shows, each as a <see cref="SeedSpread"/> (null where a seed lacks it: a score not taken).
/// </summary>
/// <param name="Axes">The configuration's value name on each axis column (null where its entries have no such axis).</param>
/// <param name="Label">The axis columns and value names joined, which names the configuration in the plots.</param>
/// <param name="Entries">The ids of its finished entries, one a seed, in plan order.</param>
/// <param name="FirstAfterFirst">Exact match on the first stage's set right after that stage.</param>
/// <param name="FirstFinal">Exact match on the first stage's set after the last stage.</param>
/// <param name="Forgetting">The forgetting of the first stage's set.</param>
/// <param name="LastFinal">The last stage's set after the last stage, by its own score (<paramref name="LastIsRouge"/>: ROUGE-L).</param>
/// <param name="LastIsRouge">Whether the last set is scored by ROUGE-L (it has no gold answers).</param>
/// <param name="FirstFinalTokens">Answer-token accuracy on the first set at the end; null when a seed was recorded without it.</param>
/// <param name="FirstFinalLogProb">Gold log-probability of the first set at the end; null when a seed was recorded without it.</param>
/// <param name="FirstSteps">The first stage's optimizer steps; null when a seed's run folder has not its log.</param>
public sealed record ConfigurationRow(IReadOnlyList<string?> Axes, string Label, IReadOnlyList<string> Entries,
    SeedSpread? FirstAfterFirst, SeedSpread? FirstFinal, SeedSpread? Forgetting, SeedSpread? LastFinal, bool LastIsRouge,
    SeedSpread? FirstFinalTokens, SeedSpread? FirstFinalLogProb, SeedSpread? FirstSteps = null)
{
    /// <summary>How many seeds finished.</summary>
    public int Seeds => Entries.Count;
}
