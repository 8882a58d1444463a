using System.Runtime.InteropServices;

namespace Remix.Runtime;

/// <summary>
/// Runs the iterations of a loop on libtorch's own intra-op (OpenMP) threads, for kernels Remix
/// writes itself between libtorch operations.
/// </summary>
/// <remarks>
/// After each parallel operation libtorch's OpenMP workers keep spinning for a while, waiting for the
/// next one. A .NET thread-pool thread started on the same core then shares it with a spinning
/// worker, and a loop split over .NET threads runs no faster than on one (measured on 2 cores: a
/// 1.4M-element elementwise kernel right after a matmul, 1.4-1.6 ms on one thread and 1.5 ms over
/// <c>Parallel.For</c>, 0.7 ms over the OpenMP workers). So the loop is handed to those workers
/// through <c>GOMP_parallel</c>, the entry point GCC's and LLVM's OpenMP runtimes export, with as
/// many threads as libtorch uses (<c>torch.set_num_threads</c>). Where no such runtime is loaded
/// (Windows builds of libtorch), the loop runs on the .NET thread pool instead. Which thread runs an
/// iteration is not fixed, so each iteration must write only what is its own.
/// </remarks>
public static unsafe class IntraOpParallel
{
    sealed class OpenMp(IntPtr parallel)
    {
        public readonly delegate* unmanaged<delegate* unmanaged<IntPtr, void>, IntPtr, uint, uint, void> Parallel =
            (delegate* unmanaged<delegate* unmanaged<IntPtr, void>, IntPtr, uint, uint, void>)parallel;
    }

    sealed class Loop(long count, Action<long> body)
    {
        public readonly long Count = count;
        public readonly Action<long> Body = body;
        public long Next = -1;
        public Exception? Failure;
    }

    static readonly Lazy<OpenMp?> Runtime = new(FindOpenMp);

    /// <summary>Whether loops run on libtorch's OpenMP threads (rather than on the .NET thread pool).</summary>
    public static bool UsesOpenMpThreads => Runtime.Value is not null;

    /// <summary>
    /// Calls <paramref name="body"/> once for every index in [0, <paramref name="count"/>), spread over the
    /// intra-op threads; returns when all have run. An exception thrown by an iteration is rethrown here, inside an
    /// <see cref="AggregateException"/>.
    /// </summary>
    public static void For(long count, Action<long> body)
    {
        if (count <= 0) return;
        if (count == 1)
        {
            try { body(0); }
            catch (Exception e) { throw new AggregateException(e); } // as from several threads
            return;
        }
        var openMp = Runtime.Value;
        if (openMp is null)
        {
            Parallel.For(0L, count, i => body(i));
            return;
        }
        var loop = new Loop(count, body);
        var handle = GCHandle.Alloc(loop);
        try
        {
            openMp.Parallel(&RunIterations, GCHandle.ToIntPtr(handle), 0, 0); // 0 threads: libtorch's intra-op count
        }
        finally
        {
            handle.Free();
        }
        if (loop.Failure is { } failure) throw new AggregateException(failure);
    }

    /// <summary>
    /// Splits [0, <paramref name="count"/>) into blocks of <paramref name="blockSize"/> (the last may be shorter) and
    /// calls <paramref name="body"/>(block, start, end) once for each, as <see cref="For"/> does.
    /// </summary>
    public static void ForBlocks(long count, long blockSize, Action<long, long, long> body) =>
        For((count + blockSize - 1) / blockSize, block => body(block, block * blockSize, Math.Min(count, (block + 1) * blockSize)));

    /// <summary>Each OpenMP thread takes the next unclaimed index until none is left.</summary>
    [UnmanagedCallersOnly]
    static void RunIterations(IntPtr state)
    {
        var loop = (Loop)GCHandle.FromIntPtr(state).Target!;
        try
        {
            for (long i = Interlocked.Increment(ref loop.Next); i < loop.Count; i = Interlocked.Increment(ref loop.Next))
                loop.Body(i);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref loop.Failure, e, null); // an exception must not cross into native code
        }
    }

    /// <summary>The OpenMP runtime libtorch loaded (found by its path in the process's memory map), or null.</summary>
    static OpenMp? FindOpenMp()
    {
        if (!OperatingSystem.IsLinux()) return null;
        using var _ = TorchSharp.torch.empty(1); // makes sure libtorch, and with it its OpenMP runtime, is loaded
        string? path = null;
        try
        {
            path = File.ReadLines("/proc/self/maps")
                .Select(line => line.IndexOf('/') is var slash and >= 0 ? line[slash..].Trim() : "")
                .FirstOrDefault(p => Path.GetFileName(p) is var name && (name.StartsWith("libgomp", StringComparison.Ordinal) || name.StartsWith("libomp", StringComparison.Ordinal)));
        }
        catch (IOException) { }
        if (path is null || !NativeLibrary.TryLoad(path, out var library)) return null;
        return NativeLibrary.TryGetExport(library, "GOMP_parallel", out var parallel) ? new OpenMp(parallel) : null;
    }
}
