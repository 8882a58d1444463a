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
/// <param name="Lens">The first set under the logit lens; null when a seed's run did not run it.</param>
public sealed record ConfigurationRow(IReadOnlyList<string?> Axes, string Label, IReadOnlyList<string> Entries,
    SeedSpread? FirstAfterFirst, SeedSpread? FirstFinal, SeedSpread? Forgetting, SeedSpread? LastFinal, bool LastIsRouge,
    SeedSpread? FirstFinalTokens, SeedSpread? FirstFinalLogProb, SeedSpread? FirstSteps = null, LensDepths? Lens = null)
{
    /// <summary>How many seeds finished.</summary>
    public int Seeds => Entries.Count;
}

/// <summary>
/// Where the first set's facts sit under the logit lens, over a configuration's seeds: each seed's mean earliest top-1 layer
/// over the facts that reach top-1 at some layer, as a fraction of the model's depth (0: the embedding, 1: the last layer), so
/// that bases of other depths compare; the standard deviation of that layer over the facts, in the same unit (how varied the
/// layers are); and the fraction of facts top-1 at some layer. Right after the first stage and after the last.
/// </summary>
public sealed record LensDepths(int Layers, SeedSpread? AfterFirst, SeedSpread? AfterFirstSpread, SeedSpread? AtEnd, SeedSpread? AtEndSpread, SeedSpread AtEndReached)
{
    /// <summary>The spread over seeds of <paramref name="afterFirst"/> and <paramref name="atEnd"/> (one each per seed), or null when a seed lacks either.</summary>
    internal static LensDepths? Of(IReadOnlyList<Remix.Analysis.LensResult?> afterFirst, IReadOnlyList<Remix.Analysis.LensResult?> atEnd)
    {
        if (afterFirst.Any(l => l is null) || atEnd.Any(l => l is null)) return null;
        int layers = afterFirst[0]!.Layers;
        // Bases of one configuration are one model; a row mixing depths would average layers that are not the same place.
        if (afterFirst.Concat(atEnd).Any(l => l!.Layers != layers)) return null;
        SeedSpread? Depth(IReadOnlyList<Remix.Analysis.LensResult?> lens) => SeedSpread.Of([.. lens.Select(l => l!.EarliestTop1.Mean / layers)]);
        SeedSpread? Spread(IReadOnlyList<Remix.Analysis.LensResult?> lens) => SeedSpread.Of([.. lens.Select(l => l!.EarliestTop1.Std / layers)]);
        return new LensDepths(layers, Depth(afterFirst), Spread(afterFirst), Depth(atEnd), Spread(atEnd),
            SeedSpread.Of([.. atEnd.Select(l => 1 - l!.EarliestTop1.Never / (double)l.Facts.Count)])!);
    }
}
