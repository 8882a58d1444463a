namespace Remix;

/// <summary>
/// Every seed a training derives, in one place, so that <c>remix train</c> and a spec's stage draw the same examples
/// in the same order for the same seed. A run of an experiment has a seed (<c>seeds:</c>, or <c>remix train --seed</c>);
/// each stage trains under <see cref="Stage"/>; from that come its mixing draws (<see cref="Mixing"/>, then
/// <see cref="Share"/> per source), its data order (<see cref="DataOrder"/>) and, as it is, LoRA's initial weights.
/// </summary>
/// <remarks>
/// The formulas are those the runs recorded in <c>bench/RESULTS.md</c> were made with; changing one changes every
/// number those runs report. Arithmetic wraps (unchecked) as it always did, so large seeds stay valid.
/// </remarks>
public static class Seeds
{
    /// <summary>The seed stage training runs under in one run: the recipe's <c>seed</c> plus the run's seed.</summary>
    public static int Stage(int recipeSeed, int runSeed) => unchecked(recipeSeed + runSeed);

    /// <summary>
    /// The seed of the mixing draws of the stage at <paramref name="stageIndex"/> (from 0). The position counts so that
    /// two stages mixing from the same source (random words in both, or one generic corpus) draw different examples.
    /// </summary>
    public static int Mixing(int stageSeed, int stageIndex) => unchecked(stageSeed + 1_000_003 * stageIndex);

    /// <summary>The seed of the draws of a stage's mixing share number <paramref name="share"/> (from 1, in the order listed).</summary>
    public static int Share(int mixingSeed, int share) => unchecked(mixingSeed + 7919 * share);

    /// <summary>
    /// The shuffling seed of epoch <paramref name="epoch"/> (from 0); with <paramref name="fixedOrder"/> every epoch has
    /// the stage seed's order. Not seed + epoch: then seed s+1 would repeat seed s's orders one epoch later, and runs
    /// meant to differ by seed would mostly see the same orders.
    /// </summary>
    public static int DataOrder(int stageSeed, int epoch, bool fixedOrder) =>
        fixedOrder ? stageSeed : unchecked(stageSeed * 1_000_003 + epoch);
}
