using System.Runtime.InteropServices;
using Remix.Runtime;

namespace Remix.Tests.Runtime;

public class NativeHeapTests
{
    /// <summary>Minor page faults of the calling thread so far (/proc/thread-self/stat, 10th field).</summary>
    static long ThreadPageFaults()
    {
        var text = File.ReadAllText("/proc/thread-self/stat");
        return long.Parse(text[(text.LastIndexOf(')') + 2)..].Split(' ')[7]);
    }

    [Fact]
    public void RetainFreedMemory_FreedBlocksComeBackWithoutPageFaults()
    {
        if (!OperatingSystem.IsLinux() || NativeHeap.UserTunedMalloc()) return; // glibc only, and not where the user tuned malloc
        Assert.True(NativeHeap.RetainFreedMemory()); // the test host applied it at start-up too; setting it again is harmless
        const int blocks = 24, blockBytes = 8 << 20, page = 4096;

        // The pattern of a training step: many large blocks, each written, then all freed.
        long Round()
        {
            long before = ThreadPageFaults();
            var pointers = new IntPtr[blocks];
            for (int b = 0; b < blocks; b++)
            {
                pointers[b] = Marshal.AllocHGlobal(blockBytes); // malloc
                for (int offset = 0; offset < blockBytes; offset += page) Marshal.WriteByte(pointers[b], offset, 1);
            }
            foreach (var p in pointers) Marshal.FreeHGlobal(p);
            return ThreadPageFaults() - before;
        }

        long first = Round(); // the heap grows once
        long later = Round() + Round();
        long pages = 2L * blocks * blockBytes / page;
        Assert.True(first > blocks * blockBytes / page / 2, $"the first round faulted {first} times; the measurement does not see this thread's faults");
        Assert.True(later < pages / 20, $"{later} page faults over {pages} pages written in freed and reallocated blocks");
    }
}
