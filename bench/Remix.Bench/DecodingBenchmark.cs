using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Remix.Checkpoints;
using Remix.Evaluation;
using Remix.Models;
using static TorchSharp.torch;
using Remix.Runtime;

namespace Remix.Bench;

/// <summary>
/// Greedy decoding with the KV cache through <see cref="GreedyGenerator"/> (the path of <c>remix generate</c> and of
/// evaluation) at several batch sizes, on a checkpoint folder or a built-in shape with seeded random weights, against
/// the memory-bandwidth and matmul limits measured in the same process, and optionally interleaved with a reference
/// program on the same weights (llama2.c's run.c: it gets the prompt ids in $PROMPT_IDS, prints the generated ids
/// on stdout and "achieved tok/s: N" as run.c does).
/// </summary>
static partial class DecodingBenchmark
{
    static readonly string[] Options = ["--model", "--shape", "--save", "--seed", "--batches", "--prompt-length", "--new-tokens", "--repeats",
        "--kernels", "--threads", "--reference-command", "--reference-label"];

    /// <summary>The built-in shapes: karpathy's stories260K (dim 64, 5 layers, 8 heads / 4 KV heads, MLP 172, vocab 512, 512 positions).</summary>
    static LlamaConfig? Shape(string name) => name switch
    {
        "stories260k" => RandomCheckpoint.TinyConfig(hiddenSize: 64, layers: 5, heads: 8, kvHeads: 4, intermediateSize: 172)
            with { VocabSize = 512, MaxPositionEmbeddings = 512 },
        _ => null,
    };

    public static int Run(string[] args)
    {
        BenchArgs.Check(args, Options);
        string? modelDir = BenchArgs.String(args, "--model"), shape = BenchArgs.String(args, "--shape"), save = BenchArgs.String(args, "--save");
        if ((modelDir is null) == (shape is null)) throw new InvalidInputException("--model", "give either --model DIR or --shape stories260k");
        if (save is not null && shape is null) throw new InvalidInputException("--save", "only a --shape is saved (a --model is already a folder)");
        int threads = BenchArgs.Int(args, "--threads", Environment.ProcessorCount);
        int[] batches = BenchArgs.Ints(args, "--batches", [1, 32, 256]);
        int promptLength = BenchArgs.Int(args, "--prompt-length", 8), newTokens = BenchArgs.Int(args, "--new-tokens", 248);
        int repeats = BenchArgs.Int(args, "--repeats", 5), seed = BenchArgs.Int(args, "--seed", 0);
        var kernels = KernelChoices.Parse(BenchArgs.String(args, "--kernels") ?? "auto");
        string? reference = BenchArgs.String(args, "--reference-command");
        string referenceLabel = BenchArgs.String(args, "--reference-label") ?? "reference";
        if (promptLength < 1 || newTokens < 1 || repeats < 1) throw new InvalidInputException("--new-tokens", "--prompt-length, --new-tokens and --repeats must be positive");
        set_num_threads(threads);

        string? temporary = null;
        if (shape is not null)
        {
            var config = Shape(shape) ?? throw new InvalidInputException("--shape", $"expected stories260k, found \"{shape}\"");
            modelDir = save ?? (temporary = Path.Combine(Path.GetTempPath(), $"remix-bench-{Guid.NewGuid():N}"));
            RandomCheckpoint.Write(modelDir, config, seed);
        }
        try
        {
            using var model = HfCheckpoint.Load(modelDir!, kernels: kernels);
            var c = model.Config;
            if (promptLength + newTokens > c.MaxPositionEmbeddings)
                throw new InvalidInputException("--new-tokens", $"prompt and new tokens ({promptLength + newTokens}) exceed the model's {c.MaxPositionEmbeddings} positions");
            long parameters = model.ParameterCount();
            Console.WriteLine($"model: {(shape is null ? modelDir : $"{shape} shape, random weights (seed {seed})" + (save is null ? "" : $", saved in {save}"))}: " +
                $"{parameters:N0} parameters, dim {c.HiddenSize}, {c.NumHiddenLayers} layers, {c.NumAttentionHeads} heads / {c.NumKeyValueHeads} KV heads, " +
                $"MLP {c.IntermediateSize}, vocab {c.VocabSize}, {(c.TieWordEmbeddings ? "tied" : "untied")}, float32");
            Console.WriteLine($"threads {threads}; kernels {KernelChoices.Describe(kernels)}; prompt {promptLength} tokens, {newTokens} new tokens, greedy with the KV cache, no stop token; " +
                $"{repeats} repeats{(reference is null ? "" : $", interleaved with {referenceLabel} (batch 1)")}");

            var bandwidth = Limits.ReadBandwidth();
            double peak = Limits.MatmulPeakGflops();
            Console.WriteLine($"measured at {threads} threads: read bandwidth {bandwidth.Format("F1")} GB/s (median, min-max), fp32 matmul peak {peak:F0} GFLOP/s");

            var generator = new GreedyGenerator(model);
            var prompts = batches.ToDictionary(b => b, b => Prompts(b, promptLength, c.VocabSize, seed));
            var times = batches.ToDictionary(b => b, _ => new List<double>());
            var referenceRates = new List<double>();
            int[] ids = [.. generator.Generate(prompts[batches.Min()].Take(1).ToList(), newTokens, [])[0].Tokens];
            foreach (int b in batches) generator.Generate(prompts[b], Math.Min(newTokens, 8), []); // warm-up
            string? referenceIds = null;
            for (int r = 0; r < repeats; r++)
            {
                foreach (int b in batches)
                {
                    var clock = Stopwatch.StartNew();
                    generator.Generate(prompts[b], newTokens, []);
                    times[b].Add(clock.Elapsed.TotalSeconds);
                }
                if (reference is not null)
                {
                    var (rate, output) = RunReference(reference, prompts[batches.Min()][0]);
                    referenceRates.Add(rate);
                    referenceIds ??= output;
                }
            }

            Console.WriteLine();
            Console.WriteLine("| batch | tokens/s, median (min-max) | ms per step | bandwidth limit (tokens/s) | share | matmul-peak limit (tokens/s) | share |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (int b in batches)
            {
                var rates = Stats.Of(times[b].Select(s => b * newTokens / s));
                var (bytes, flops) = Cost(c, parameters, b, promptLength, newTokens);
                double bandwidthLimit = b * newTokens / (bytes / (bandwidth.Median * 1e9));
                double flopLimit = b * newTokens / (flops / (peak * 1e9));
                Console.WriteLine($"| {b} | {rates.Format()} | {1000 * Stats.Of(times[b]).Median / newTokens:F2} | {bandwidthLimit:N0} | {100 * rates.Median / bandwidthLimit:F0}% | {flopLimit:N0} | {100 * rates.Median / flopLimit:F0}% |");
            }
            if (reference is not null)
            {
                var rr = Stats.Of(referenceRates);
                Console.WriteLine($"| {referenceLabel} (1 stream) | {rr.Format()} | {1000 / rr.Median:F2} | | | | |");
                int first = batches.Min();
                double remix1 = Stats.Of(times[first].Select(s => first * newTokens / s)).Median;
                Console.WriteLine();
                Console.WriteLine(string.Join("; ", batches.Select(b => $"batch {b}: {Stats.Of(times[b].Select(s => b * newTokens / s)).Median / rr.Median:F2}x")) + $" {referenceLabel}'s single stream (medians)");
                string remixIds = string.Join(' ', ids);
                Console.WriteLine(referenceIds?.Trim() == remixIds
                    ? $"greedy ids: {referenceLabel} and Remix agree on all {ids.Length} new tokens of the first prompt"
                    : $"greedy ids DIFFER: Remix {remixIds}\n{referenceLabel} {referenceIds?.Trim()}");
            }
            return 0;
        }
        finally
        {
            if (temporary is not null) Directory.Delete(temporary, recursive: true);
        }
    }

    /// <summary>
    /// Bytes read and FLOPs over one generation of <paramref name="newTokens"/> tokens for <paramref name="batch"/> rows:
    /// per step every float32 weight once (the prompt's prefill counted as one step) plus every row's K and V cache up to
    /// its current length; FLOPs are 2 per weight per token (embedding lookups excepted, the LM head included) plus the
    /// scores and weighted values (4 x heads x head_dim per cached position per layer).
    /// </summary>
    static (double Bytes, double Flops) Cost(LlamaConfig c, long parameters, int batch, int promptLength, int newTokens)
    {
        long embedding = (long)c.VocabSize * c.HiddenSize;
        long matmulWeights = parameters - (c.TieWordEmbeddings ? 0 : embedding); // a tied table is read once, as the LM head
        int headDim = c.HeadDim;
        double kvPerPosition = 2.0 * c.NumHiddenLayers * c.NumKeyValueHeads * headDim * sizeof(float);
        double bytes = 0, flops = 0;
        for (int step = 0; step < newTokens; step++)
        {
            int length = promptLength + step; // positions attended to by the token this step feeds
            bytes += parameters * (double)sizeof(float) + batch * kvPerPosition * length;
            flops += batch * (2.0 * matmulWeights + 4.0 * c.NumHiddenLayers * c.NumAttentionHeads * headDim * length);
        }
        return (bytes, flops);
    }

    static int[][] Prompts(int batch, int length, int vocab, int seed)
    {
        var random = new Random(seed + 1);
        return [.. Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, length).Select(_ => random.Next(vocab)).ToArray())];
    }

    static (double Rate, string Ids) RunReference(string command, int[] prompt)
    {
        var start = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["PROMPT_IDS"] = string.Join(',', prompt);
        using var process = Process.Start(start) ?? throw new InvalidInputException("--reference-command", "could not be started");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string all = stdout + stderr.Result;
        var match = AchievedRate().Match(all);
        if (process.ExitCode != 0 || !match.Success)
            throw new InvalidInputException("--reference-command", $"exited with {process.ExitCode} without printing \"achieved tok/s: N\": {all.Trim()}");
        return (double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), stdout);
    }

    [GeneratedRegex(@"achieved tok/s: ([0-9.]+)")]
    private static partial Regex AchievedRate();
}
