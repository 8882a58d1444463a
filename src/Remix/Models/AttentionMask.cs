using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>Additive attention masks: 0 where a query may attend to a key, the dtype's lowest value elsewhere.</summary>
internal static class AttentionMask
{
    /// <summary>
    /// [batch, 1, seq, past + seq] combining causality (query i sits at position past + i), key
    /// padding (<paramref name="keyMask"/> [batch, past + seq], 1 = real token) and an optional
    /// sliding window. A finite lowest value keeps fully masked rows (padding queries) free of NaN.
    /// </summary>
    public static Tensor Build(Tensor? keyMask, long batch, long seq, long past, int? slidingWindow, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        long keys = past + seq;
        var queryPos = arange(past, keys, ScalarType.Int64, device).unsqueeze(1); // [seq, 1]
        var keyPos = arange(0, keys, ScalarType.Int64, device).unsqueeze(0);      // [1, keys]
        var allowed = keyPos <= queryPos;
        if (slidingWindow is { } w) allowed = allowed.logical_and(queryPos - keyPos < w);
        var allowed4 = allowed.unsqueeze(0).unsqueeze(0).expand(batch, 1, seq, keys);
        if (keyMask is not null)
        {
            if (keyMask.shape[0] != batch || keyMask.shape[1] != keys)
                throw new ArgumentException($"attention mask is [{keyMask.shape[0]}, {keyMask.shape[1]}]; expected [{batch}, {keys}]");
            allowed4 = allowed4.logical_and(keyMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(2));
        }
        var mask = zeros([batch, 1, seq, keys], dtype, device).masked_fill(allowed4.logical_not(), LowestValue(dtype));
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// [1, 1, total, total] for sequences of <paramref name="lengths"/> packed one after another into a single row: a
    /// query sees the keys of its own sequence up to itself (and within the sliding window), nothing of the others.
    /// </summary>
    public static Tensor Packed(IReadOnlyList<int> lengths, int? slidingWindow, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var sequenceOf = tensor(lengths.SelectMany((n, i) => Enumerable.Repeat((long)i, n)).ToArray(), ScalarType.Int64, device);
        var position = PackedPositions(lengths, device);
        var allowed = sequenceOf.unsqueeze(1).eq(sequenceOf.unsqueeze(0)).logical_and(position.unsqueeze(0) <= position.unsqueeze(1));
        if (slidingWindow is { } w) allowed = allowed.logical_and(position.unsqueeze(1) - position.unsqueeze(0) < w);
        long total = sequenceOf.shape[0];
        var mask = zeros([1, 1, total, total], dtype, device).masked_fill(allowed.logical_not().view(1, 1, total, total), LowestValue(dtype));
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>Whether packed sequences of <paramref name="lengths"/> (none empty) fill exactly one row of <paramref name="width"/> tokens.</summary>
    public static bool FillOneRow(IReadOnlyList<int> lengths, long rows, long width) =>
        rows == 1 && lengths.All(n => n > 0) && lengths.Sum(n => (long)n) == width;

    /// <summary>Positions 0, 1, ... within each packed sequence, one after another: [total].</summary>
    public static Tensor PackedPositions(IReadOnlyList<int> lengths, Device device) =>
        tensor(lengths.SelectMany(n => Enumerable.Range(0, n).Select(i => (long)i)).ToArray(), ScalarType.Int64, device);

    /// <summary>The most negative finite value of a floating dtype.</summary>
    public static double LowestValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => float.MinValue,
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float64 => double.MinValue,
        _ => throw new ArgumentException($"no attention mask for dtype {dtype}"),
    };
}
