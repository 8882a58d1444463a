namespace Remix.Data.Mixing;

/// <summary>
/// One mixing ingredient: a source and how many extra examples it adds, as a ratio of the stage's
/// data size, or of <paramref name="BaseCount"/> when given (replay: a fraction of the earlier stage).
/// </summary>
public sealed record MixingShare(IMixingSource Source, double Ratio, int? BaseCount = null)
{
    /// <summary>Replays <paramref name="fraction"/> of an earlier stage's examples.</summary>
    public static MixingShare Replay(IReadOnlyList<Example> earlier, double fraction) => new(new ReplaySource(earlier), fraction, earlier.Count);
}

/// <summary>
/// Builds a stage's training set: the stage's own data D plus, for each share, round(ratio × |D|)
/// examples from its source (ratio 2 gives 2|D| extra examples; replay counts from the earlier
/// stage's size). Deterministic for a seed.
/// </summary>
public static class DataMixer
{
    public static List<Example> Mix(IReadOnlyList<Example> data, IEnumerable<MixingShare> shares, int seed)
    {
        var mixed = new List<Example>(data);
        int index = 0;
        foreach (var share in shares)
        {
            if (share.Ratio < 0 || !double.IsFinite(share.Ratio))
                throw new InvalidInputException("--mix", $"expected a non-negative ratio for {share.Source.Name}, found {share.Ratio}");
            int count = CountFor(share.BaseCount ?? data.Count, share.Ratio);
            mixed.AddRange(share.Source.Sample(count, Seeds.Share(seed, ++index)));
        }
        return mixed;
    }

    /// <summary>The number of extra examples for a ratio: round(ratio × |D|), at least one for a positive ratio.</summary>
    public static int CountFor(int dataCount, double ratio) =>
        ratio <= 0 ? 0 : Math.Max(1, (int)Math.Round(ratio * dataCount, MidpointRounding.AwayFromZero));
}
