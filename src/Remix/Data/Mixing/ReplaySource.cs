namespace Remix.Data.Mixing;

/// <summary>Replay: examples drawn without replacement from an earlier stage's data (all of it, cycling, if more are asked for).</summary>
public sealed class ReplaySource(IReadOnlyList<Example> earlier) : IMixingSource
{
    public string Name => "replay";

    public IReadOnlyList<Example> Sample(int count, int seed)
    {
        if (earlier.Count == 0) throw new InvalidOperationException("replay needs a non-empty earlier stage");
        var random = new Random(seed);
        var order = Enumerable.Range(0, earlier.Count).ToArray();
        var picked = new List<Example>(count);
        for (int i = 0; i < count; i++)
        {
            if (i % order.Length == 0) random.Shuffle(order);
            picked.Add(earlier[order[i % order.Length]]);
        }
        return picked;
    }
}
