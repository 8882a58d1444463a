using Remix.Runtime;

namespace Remix.Tests.Runtime;

[Collection(Support.ThreadCountCollection.Name)]
public class IntraOpParallelTests
{
    [Fact]
    public void For_RunsEveryIndexOnce()
    {
        var counts = new int[1000];
        IntraOpParallel.For(counts.Length, i => Interlocked.Increment(ref counts[i]));
        Assert.All(counts, c => Assert.Equal(1, c));
    }

    [Fact]
    public void ForBlocks_CoversTheRangeOnce_WithAShorterLastBlock()
    {
        var counts = new int[1000];
        var blocks = new System.Collections.Concurrent.ConcurrentBag<(long Block, long Start, long End)>();
        IntraOpParallel.ForBlocks(counts.Length, 64, (block, start, end) =>
        {
            blocks.Add((block, start, end));
            for (long i = start; i < end; i++) Interlocked.Increment(ref counts[i]);
        });
        Assert.All(counts, c => Assert.Equal(1, c));
        Assert.Equal(16, blocks.Count);
        Assert.Contains((15L, 960L, 1000L), blocks);
        Assert.All(blocks, b => Assert.Equal(b.Block * 64, b.Start));
    }

    [Fact]
    public void For_RethrowsAnIterationsException()
    {
        var error = Assert.Throws<AggregateException>(() => IntraOpParallel.For(8, i => { if (i == 5) throw new InvalidOperationException("five"); }));
        Assert.Equal("five", error.InnerException!.Message);
        var single = Assert.Throws<AggregateException>(() => IntraOpParallel.For(1, _ => throw new InvalidOperationException("one")));
        Assert.Equal("one", single.InnerException!.Message);
    }

    [Fact]
    public void OnLinux_LoopsRunOnAsManyOpenMpThreadsAsLibtorchUses()
    {
        if (!OperatingSystem.IsLinux()) return; // the runtime is found through /proc/self/maps
        Assert.True(IntraOpParallel.UsesOpenMpThreads);
        int threads = TorchSharp.torch.get_num_threads();
        var seen = new HashSet<int>();
        try
        {
            TorchSharp.torch.set_num_threads(2);
            IntraOpParallel.For(32, _ => { lock (seen) seen.Add(Environment.CurrentManagedThreadId); Thread.Sleep(1); });
        }
        finally
        {
            TorchSharp.torch.set_num_threads(threads);
        }
        Assert.Equal(2, seen.Count); // the calling thread and one OpenMP worker
    }
}
