using static TorchSharp.torch;

namespace Remix.Data.Batching;

/// <summary>
/// A right-padded batch: ids [batch, width] (padding = pad id), labels (padding = -100) and an
/// attention mask (1 = real token), with width the longest example of this batch (dynamic padding).
/// </summary>
public sealed record PaddedBatch(IReadOnlyList<string> Ids, long[] InputIds, long[] Labels, long[] AttentionMask, int Size, int Width) : ITokenBatch
{
    /// <summary>Pads the examples to their longest length.</summary>
    public static PaddedBatch From(IReadOnlyList<EncodedExample> examples, int padId)
    {
        int width = examples.Max(e => e.Length), size = examples.Count;
        var ids = new long[size * width];
        var labels = new long[size * width];
        var mask = new long[size * width];
        Array.Fill(ids, padId);
        Array.Fill(labels, EncodedExample.IgnoreIndex);
        for (int b = 0; b < size; b++)
        {
            var e = examples[b];
            for (int i = 0; i < e.Length; i++)
            {
                ids[b * width + i] = e.InputIds[i];
                labels[b * width + i] = e.Labels[i];
                mask[b * width + i] = 1;
            }
        }
        return new PaddedBatch([.. examples.Select(e => e.Id)], ids, labels, mask, size, width);
    }

    /// <summary>Tokens that carry loss: labels after the first column (the first token is never predicted).</summary>
    public long LossTokenCount
    {
        get
        {
            long n = 0;
            for (int row = 0; row < Size; row++)
                for (int col = 1; col < Width; col++)
                    if (Labels[row * Width + col] != EncodedExample.IgnoreIndex) n++;
            return n;
        }
    }

    /// <summary>Real (non-padding) tokens in the batch.</summary>
    public long TokenCount => AttentionMask.Sum();

    /// <summary>
    /// Input ids and labels as [batch, width] tensors. The attention mask stays on the host (it counts
    /// tokens): with right padding, causal attention already keeps padding out of every real position.
    /// </summary>
    public (Tensor InputIds, Tensor Labels) ToTensors(Device device) =>
        (tensor(InputIds, [Size, Width], ScalarType.Int64, device),
         tensor(Labels, [Size, Width], ScalarType.Int64, device));

    /// <summary>Padded rows: none are packed.</summary>
    public IReadOnlyList<int>? PackedLengths => null;

    /// <summary>The row of a flat labelled position (row * (width - 1) + t).</summary>
    public int ExampleAt(long labelledPosition) => (int)(labelledPosition / (Width - 1));
}
