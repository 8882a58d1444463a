using static TorchSharp.torch;

namespace Remix.Data.Batching;

/// <summary>
/// Examples packed one after another into a single row, without padding: ids and labels [1, total] and each example's
/// length, so that the model attends within each example only and numbers its positions from 0 (the same computation as
/// a padded batch's, without the padding's work). The first token of every example is unlabelled here, as a padded
/// row's first token is never predicted: no loss is taken from one example's last token on the next one's first.
/// </summary>
public sealed record PackedBatch(IReadOnlyList<string> Ids, long[] InputIds, long[] Labels, int[] Lengths) : ITokenBatch
{
    /// <summary>Packs the examples in their order.</summary>
    public static PackedBatch From(IReadOnlyList<EncodedExample> examples)
    {
        if (examples.Count == 0 || examples.Any(e => e.Length == 0)) throw new ArgumentException("a packed batch needs examples of at least one token");
        int total = examples.Sum(e => e.Length);
        var ids = new long[total];
        var labels = new long[total];
        int start = 0;
        foreach (var e in examples)
        {
            for (int i = 0; i < e.Length; i++)
            {
                ids[start + i] = e.InputIds[i];
                labels[start + i] = i == 0 ? EncodedExample.IgnoreIndex : e.Labels[i];
            }
            start += e.Length;
        }
        return new PackedBatch([.. examples.Select(e => e.Id)], ids, labels, [.. examples.Select(e => e.Length)]);
    }

    public long LossTokenCount => Labels.LongCount(l => l != EncodedExample.IgnoreIndex);

    public long TokenCount => InputIds.Length;

    public IReadOnlyList<int>? PackedLengths => Lengths;

    public (Tensor InputIds, Tensor Labels) ToTensors(Device device) =>
        (tensor(InputIds, [1, InputIds.Length], ScalarType.Int64, device),
         tensor(Labels, [1, Labels.Length], ScalarType.Int64, device));

    /// <summary>The example holding token <paramref name="labelledPosition"/> + 1 (the position predicts the next token).</summary>
    public int ExampleAt(long labelledPosition)
    {
        long token = labelledPosition + 1;
        if (labelledPosition < 0 || token >= _ends[^1])
            throw new ArgumentOutOfRangeException(nameof(labelledPosition), $"position {labelledPosition} is outside the batch's {_ends[^1]} tokens");
        int found = Array.BinarySearch(_ends, token); // the first example whose end lies past the token
        return found >= 0 ? found + 1 : ~found;
    }

    readonly long[] _ends = Ends(Lengths);

    static long[] Ends(int[] lengths)
    {
        var ends = new long[lengths.Length];
        for (int i = 0; i < lengths.Length; i++) ends[i] = (i == 0 ? 0 : ends[i - 1]) + lengths[i];
        return ends;
    }
}
