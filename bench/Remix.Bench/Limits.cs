using System.Diagnostics;
using static TorchSharp.torch;

namespace Remix.Bench;

/// <summary>
/// The machine's physical limits as the other benchmarks use them: read bandwidth (a STREAM-like sum over a 1 GiB
/// float32 array) and the fp32 matmul peak (square torch.mm), each at a given thread count.
/// </summary>
static class Limits
{
    public static int Run(string[] args)
    {
        BenchArgs.Check(args, ["--threads", "--megabytes", "--repeats"]);
        int[] threads = BenchArgs.Ints(args, "--threads", [1, 2]);
        int megabytes = BenchArgs.Int(args, "--megabytes", 1024), repeats = BenchArgs.Int(args, "--repeats", 7);
        Console.WriteLine($"| threads | read bandwidth, sum over {megabytes} MiB float32 (GB/s, median of {repeats}, min-max) | fp32 matmul 1024^3 (GFLOP/s) | fp32 matmul 2048^3 (GFLOP/s) |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (int t in threads)
        {
            set_num_threads(t);
            var bw = ReadBandwidth(megabytes, repeats);
            Console.WriteLine($"| {t} | {bw.Median:F1} ({bw.Min:F1}-{bw.Max:F1}) | {MatmulGflops(1024, 2):F0} | {MatmulGflops(2048, 2):F0} |");
        }
        return 0;
    }

    /// <summary>Read bandwidth in GB/s (1e9 bytes) of summing a float32 array of <paramref name="megabytes"/> MiB, after one untimed pass.</summary>
    public static Stats ReadBandwidth(int megabytes = 1024, int repeats = 7)
    {
        using var scope = NewDisposeScope();
        long elements = megabytes * (1L << 20) / sizeof(float);
        var data = ones(elements);
        data.sum().item<float>();
        var rates = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            data.sum().item<float>();
            rates.Add(elements * sizeof(float) / clock.Elapsed.TotalSeconds / 1e9);
        }
        return Stats.Of(rates);
    }

    /// <summary>The best fp32 matmul rate (GFLOP/s) over square sizes 1024 and 2048 at the current thread count.</summary>
    public static double MatmulPeakGflops() => Math.Max(MatmulGflops(1024, 2), MatmulGflops(2048, 2));

    /// <summary>The fp32 rate of size^3 matmuls repeated for about <paramref name="seconds"/> (after three warm-up products).</summary>
    public static double MatmulGflops(int size, double seconds)
    {
        using var scope = NewDisposeScope();
        var a = randn(size, size);
        var b = randn(size, size);
        for (int i = 0; i < 3; i++) using (var w = a.matmul(b)) { }
        var clock = Stopwatch.StartNew();
        int n = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            using var c = a.matmul(b);
            n++;
        }
        return n * 2.0 * size * size * (double)size / clock.Elapsed.TotalSeconds / 1e9;
    }
}

/// <summary>Median, minimum and maximum of a set of measurements.</summary>
readonly record struct Stats(double Median, double Min, double Max, int Count)
{
    public static Stats Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0) return new(double.NaN, double.NaN, double.NaN, 0);
        double median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        return new(median, sorted[0], sorted[^1], sorted.Count);
    }

    public string Format(string f = "N0") => $"{Median.ToString(f)} ({Min.ToString(f)}-{Max.ToString(f)})";
}
