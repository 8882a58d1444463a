using System.Diagnostics;
using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Data;
using Remix.Models;
using Remix.Tokenization;
using Remix.Training;
using static TorchSharp.torch;

namespace Remix.Bench;

/// <summary>
/// Training throughput through the real <see cref="Trainer"/> (tokens/s, model FLOP utilisation
/// against a measured fp32 matmul peak, peak resident memory), and resident memory over many steps.
/// </summary>
static class TrainingBenchmark
{
    public static int Run(string[] args)
    {
        int threads = BenchArgs.Int(args, "--threads", Environment.ProcessorCount);
        int hidden = BenchArgs.Int(args, "--hidden", 256), layers = BenchArgs.Int(args, "--layers", 4);
        int batch = BenchArgs.Int(args, "--batch", 16), seq = BenchArgs.Int(args, "--seq", 128), steps = BenchArgs.Int(args, "--steps", 60);
        int vocab = BenchArgs.Int(args, "--vocab", 2048);
        int collectEvery = BenchArgs.Int(args, "--collect-every", 1);
        int peakEvery = BenchArgs.Int(args, "--peak-every", 5);
        set_num_threads(threads);
        double peakBefore = Limits.MatmulPeakGflops();

        var work = Path.Combine(Path.GetTempPath(), $"remix-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            var config = RandomCheckpoint.TinyConfig(hidden, layers, hidden / 64 * 2, hidden / 64, intermediateSize: hidden * 8 / 3 / 8 * 8 + 8) with { VocabSize = vocab, TieWordEmbeddings = false };
            using (var init = new LlamaForCausalLM(config))
            {
                init.InitializeWeights(0);
                HfCheckpoint.Save(init, work);
            }
            ByteLevelTokenizerFiles.Write(work);
            using var loaded = LoadedModel.Load(work);
            long parameters = loaded.Model.ParameterCount();
            long embedding = (long)config.VocabSize * config.HiddenSize;

            // Examples of exactly `seq` tokens: BOS + chat header + answer bytes + EOS, loss on almost every token.
            int header = loaded.Tokenizer.Encode(ChatTemplate.Default.Prompt("")).Length;
            var random = new Random(1);
            int examplesNeeded = batch * steps;
            var examples = Enumerable.Range(0, examplesNeeded).Select(i => Example.QuestionAnswer($"x{i}", "bench", "",
                new string(Enumerable.Range(0, seq - header - 1).Select(_ => (char)('a' + random.Next(26))).ToArray()), kind: ExampleKind.NonFactoid)).ToList();

            var options = new TrainingOptions { LearningRate = 1e-3, BatchSize = batch, Epochs = 1, WarmupRatio = 0, ClipNorm = 1.0, MaxLength = seq, CollectEvery = collectEvery };
            var stepTimes = new List<double>();
            var clock = Stopwatch.StartNew();
            double excluded = 0; // seconds spent in matmul bursts, kept out of the training time
            var bursts = new List<(int AfterStep, double Gflops)>();
            var rss = new List<(int Step, long Bytes)>();
            var counters = new List<(long Faults, double SystemSeconds)>(); // after each step
            var trainer = new Trainer(loaded.Model, loaded.Tokenizer, loaded.StopTokenIds, options)
            {
                AfterStep = s =>
                {
                    stepTimes.Add(clock.Elapsed.TotalSeconds - excluded);
                    counters.Add(ProcessCounters());
                    if (s % Math.Max(1, steps / 20) == 0) rss.Add((s, CurrentRss()));
                    if (peakEvery > 0 && s % peakEvery == 0)
                    {
                        double start = clock.Elapsed.TotalSeconds;
                        bursts.Add((s, Limits.MatmulGflops(1024, 0.25)));
                        excluded += clock.Elapsed.TotalSeconds - start;
                    }
                },
            };
            var result = trainer.Train(new TrainingRun { Examples = examples, OutDir = Path.Combine(work, "run") });

            double peak = Math.Max(peakBefore, Limits.MatmulPeakGflops()); // this machine is shared: take the best of before and after
            // Throughput over the second half (after warm-up and allocator growth).
            int from = stepTimes.Count / 2;
            double seconds = stepTimes[^1] - stepTimes[from - 1];
            double tokensPerSecond = (double)(stepTimes.Count - from) * batch * seq / seconds;
            // 6 FLOPs per parameter per token (forward + backward) for every matmul weight, plus attention
            // scores and values: 12 * layers * seq * hidden per token (6 * 2 matmuls), halved for causality.
            // The LM head runs only where the next token carries a loss (not over the chat header).
            int lossPositions = new ExampleEncoder(loaded.Tokenizer, maxLength: seq).Encode(examples[0]).LabelCount; // each predicted from the position before it
            long head = (long)config.VocabSize * config.HiddenSize;
            double flopsPerToken = 6.0 * (parameters - embedding - head) + 6.0 * head * lossPositions / seq + 6.0 * layers * seq * hidden;
            double achieved = tokensPerSecond * flopsPerToken / 1e9;
            Console.WriteLine($"model: {parameters:N0} parameters (dim {hidden}, {layers} layers, vocab {vocab}, untied), batch {batch} x {seq} tokens " +
                $"({lossPositions} with a loss), {threads} threads, {result.Steps} steps");
            Console.WriteLine($"fp32 matmul peak (best of 1024^3 and 2048^3, before and after): {peak:F0} GFLOP/s");
            Console.WriteLine($"training: {tokensPerSecond:N0} tokens/s, {achieved:F0} GFLOP/s = {100 * achieved / peak:F0}% of the matmul peak");
            if (bursts.Count >= 3)
            {
                // The machine's speed drifts (it is shared), so the peak is also measured between
                // training windows: each window of `peakEvery` steps against the mean of the bursts on
                // either side of it, over the second half of the run.
                var ratios = new List<double>();
                for (int b = 1; b < bursts.Count; b++)
                {
                    int first = bursts[b - 1].AfterStep, last = bursts[b].AfterStep; // window: steps first+1 .. last
                    if (first < stepTimes.Count / 2) continue;
                    double windowSeconds = stepTimes[last - 1] - stepTimes[first - 1];
                    double windowGflops = (double)(last - first) * batch * seq * flopsPerToken / windowSeconds / 1e9;
                    ratios.Add(windowGflops / ((bursts[b - 1].Gflops + bursts[b].Gflops) / 2));
                }
                if (ratios.Count > 0)
                {
                    ratios.Sort();
                    var burstPeaks = bursts.Select(x => x.Gflops).ToList();
                    Console.WriteLine($"interleaved: {ratios.Count} windows of {peakEvery} steps, each against the 1024^3 matmul rate measured just before and after it " +
                        $"({burstPeaks.Min():F0}-{burstPeaks.Max():F0} GFLOP/s): median {100 * ratios[ratios.Count / 2]:F0}% of the matmul peak (windows {100 * ratios[0]:F0}-{100 * ratios[^1]:F0}%)");
                }
            }
            // Page faults and kernel time per step over the same second half (the matmul bursts between
            // windows allocate nothing new after their first run).
            int halfSteps = stepTimes.Count - from;
            Console.WriteLine($"per step (second half): {(counters[^1].Faults - counters[from - 1].Faults) / (double)halfSteps:F0} page faults, " +
                $"{1000 * (counters[^1].SystemSeconds - counters[from - 1].SystemSeconds) / halfSteps:F1} ms of kernel CPU time, {1000 * seconds / halfSteps:F0} ms wall");
            Console.WriteLine($"peak resident memory: {PeakRss() / 1e6:F0} MB");
            Console.WriteLine("resident memory (MB) by step: " + string.Join(", ", rss.Select(r => $"{r.Step}:{r.Bytes / 1e6:F0}")));
            if (rss.Count >= 4)
            {
                var later = rss.Skip(rss.Count / 4).ToList();
                double slope = (later[^1].Bytes - later[0].Bytes) / (double)Math.Max(1, later[^1].Step - later[0].Step);
                Console.WriteLine($"memory trend after the first quarter: {slope / 1e3:F1} KB per step");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Minor page faults and kernel CPU seconds of this process so far (from /proc/self/stat).</summary>
    static (long Faults, double SystemSeconds) ProcessCounters()
    {
        var text = File.ReadAllText("/proc/self/stat");
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' '); // fields from the third on: state, ppid, ...
        return (long.Parse(fields[7]), long.Parse(fields[12]) / 100.0); // minflt (10th), stime (15th) in 1/100 s ticks
    }

    static long CurrentRss() => ReadStatus("VmRSS:");
    static long PeakRss() => ReadStatus("VmHWM:");

    static long ReadStatus(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0]) * 1024;
        return 0;
    }

}
