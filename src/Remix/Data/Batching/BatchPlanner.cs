namespace Remix.Data.Batching;

/// <summary>
/// Orders examples into batches for one epoch: shuffled from a seed (or in file order), and
/// optionally grouped by length — shuffle, cut into windows of 50 batches, sort each window by
/// length, then shuffle the batches — so that padding stays small without a fixed order.
/// </summary>
public static class BatchPlanner
{
    public const int GroupWindowBatches = 50;

    /// <summary>Index lists, one per batch, covering every example once.</summary>
    public static List<int[]> Plan(IReadOnlyList<EncodedExample> examples, int batchSize, int? shuffleSeed, bool groupByLength = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var order = Enumerable.Range(0, examples.Count).ToArray();
        var random = shuffleSeed is { } seed ? new Random(seed) : null;
        random?.Shuffle(order);
        if (groupByLength)
        {
            int window = batchSize * GroupWindowBatches;
            for (int start = 0; start < order.Length; start += window)
            {
                int length = Math.Min(window, order.Length - start);
                Array.Sort(order, start, length, Comparer<int>.Create((a, b) => examples[b].Length.CompareTo(examples[a].Length) is var c && c != 0 ? c : a.CompareTo(b)));
            }
        }
        var batches = order.Chunk(batchSize).ToList();
        if (groupByLength && random is not null) random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batches));
        return batches;
    }
}
