using System.Runtime.InteropServices;

namespace Remix.Runtime;

/// <summary>
/// Keeps glibc's malloc from handing freed tensor memory back to the kernel between training steps.
/// </summary>
/// <remarks>
/// A training step allocates and frees the same few hundred megabytes of tensors over and over. By
/// default glibc returns the free top of its heap to the kernel once more than its trim threshold
/// (at most 64 MiB) is free, and releases whole thread heaps, so the next step touches fresh pages:
/// each 4 KiB page is a page fault and a page of zeroing in the kernel, on the thread that drives
/// the step. Measured on the training benchmark (2 cores, dim 256): 1,500-7,800 faults and 17-38 ms
/// of kernel time per 300-400 ms step by default; about 10 faults and 7-14 ms with the settings below.
/// Freed memory is kept for reuse instead, so resident memory stays at the step's high-water mark.
/// Allocations above 32 MiB (glibc's largest mmap threshold) still get their own mappings.
/// Settings a user gave through <c>MALLOC_*_</c> variables or <c>GLIBC_TUNABLES</c> are left alone, as is
/// every system without glibc. The settings are the whole process's, so the library never applies them itself:
/// the application calls <see cref="RetainFreedMemory"/> once at start-up (the <c>remix</c> CLI, the test host
/// and the benchmarks do).
/// </remarks>
public static class NativeHeap
{
    const int TrimThreshold = -1, TopPad = -2, MmapThreshold = -3; // mallopt parameters (malloc.h)

    /// <summary>The largest mmap threshold glibc accepts on 64-bit systems (half its 64 MiB heap size).</summary>
    public const int LargestMmapThreshold = 32 << 20;

    /// <summary>
    /// Applies the settings to this process: no trimming, padding that keeps thread heaps, and the largest
    /// mmap threshold. Returns whether glibc accepted them; calling it again sets the same values again.
    /// </summary>
    public static bool RetainFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || UserTunedMalloc()) return false;
        try
        {
            int[] accepted = [mallopt(MmapThreshold, LargestMmapThreshold), mallopt(TrimThreshold, int.MaxValue), mallopt(TopPad, 64 << 20)];
            return accepted.All(result => result == 1);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (musl has no tunable malloc)
        }
    }

    /// <summary>Whether this process was started with malloc settings of the user's own (then left alone).</summary>
    public static bool UserTunedMalloc() =>
        Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("glibc.malloc.", StringComparison.Ordinal) == true
        || Environment.GetEnvironmentVariables().Keys.Cast<string>().Any(k => k.StartsWith("MALLOC_", StringComparison.Ordinal) && k.EndsWith('_'));

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int param, int value);
}
