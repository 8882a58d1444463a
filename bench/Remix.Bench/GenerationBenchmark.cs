using System.Diagnostics;
using Remix.Checkpoints;
using Remix.Evaluation;
using Remix.Models;
using static TorchSharp.torch;
using Remix.Runtime;

namespace Remix.Bench;

/// <summary>
/// Greedy generation speed of a small Llama (dim 256, 4 layers, vocab 2048, about 4.5M parameters)
/// at batch 1 and 32, with and without the KV cache, plus resident memory over repeated calls. <c>--kernels reference</c>
/// keeps every step on libtorch; <c>--model DIR</c> loads a checkpoint instead (such as models/remix-tiny), <c>--shape
/// stories260k</c> builds karpathy's stories260K shape (dim 64, 5 layers, 8/4 heads, hidden 172, vocab 512) with random
/// weights; <c>--batches 1,32,256</c> and <c>--cache-only</c> choose the rows, <c>--no-memory</c> skips the memory check.
/// </summary>
static class GenerationBenchmark
{
    public static int Run(string[] args)
    {
        int threads = BenchArgs.Int(args, "--threads", Environment.ProcessorCount);
        int newTokens = BenchArgs.Int(args, "--new-tokens", 64);
        int promptLength = BenchArgs.Int(args, "--prompt-length", 16);
        var kernels = Runtime.KernelChoices.Parse(BenchArgs.String(args, "--kernels") ?? "auto");
        var batches = (BenchArgs.String(args, "--batches") ?? "1,32").Split(',').Select(int.Parse).ToArray();
        var caches = BenchArgs.Flag(args, "--cache-only") ? new[] { true } : [true, false];
        set_num_threads(threads);
        var config = BenchArgs.String(args, "--shape") switch
        {
            "stories260k" => RandomCheckpoint.TinyConfig(hiddenSize: 64, layers: 5, heads: 8, kvHeads: 4, intermediateSize: 172) with { VocabSize = 512, BosTokenId = 1, EosTokenIds = [2], PadTokenId = 0 },
            null or "default" => RandomCheckpoint.TinyConfig(hiddenSize: 256, layers: 4, heads: 8, kvHeads: 4, intermediateSize: 688) with { VocabSize = 2048 },
            var other => throw new ArgumentException($"--shape: expected default or stories260k, found {other}"),
        };
        using var loaded = BenchArgs.String(args, "--model") is { } dir ? LoadedModel.Load(dir, CPU, kernels: kernels) : null;
        using var built = loaded is null ? new LlamaForCausalLM(config, kernels: kernels) : null;
        built?.InitializeWeights(0);
        var model = loaded?.Model ?? built!;
        config = model.Config;
        var generator = new GreedyGenerator(model);
        Console.WriteLine($"model: {model.ParameterCount():N0} parameters, dim {config.HiddenSize}, {config.NumHiddenLayers} layers, vocab {config.VocabSize}; threads {threads}; prompt {promptLength} tokens, {newTokens} new tokens, greedy, no stop token; decoding: {generator.DecodingPath()}");
        Console.WriteLine("| batch | cache | new tokens/s | ms per step |");
        Console.WriteLine("|---:|:---|---:|---:|");
        foreach (int batch in batches)
            foreach (bool cache in caches)
            {
                var prompts = Prompts(batch, promptLength, config.VocabSize);
                generator.Generate(prompts, 4, [], cache); // warm-up
                var clock = Stopwatch.StartNew();
                int repeats = 0;
                do
                {
                    generator.Generate(prompts, newTokens, [], cache);
                    repeats++;
                } while (clock.Elapsed.TotalSeconds < 3);
                double seconds = clock.Elapsed.TotalSeconds / repeats;
                Console.WriteLine($"| {batch} | {(cache ? "yes" : "no")} | {batch * newTokens / seconds:N0} | {seconds * 1000 / newTokens:F2} |");
            }

        if (BenchArgs.Flag(args, "--no-memory")) return 0;
        var memoryPrompts = Prompts(32, promptLength, config.VocabSize);
        long before = 0;
        for (int i = 0; i < 60; i++)
        {
            generator.Generate(memoryPrompts, newTokens, [], useCache: true);
            if (i == 9) before = Rss();
        }
        Console.WriteLine($"resident memory over 50 more batch-32 generations: {before / 1e6:F0} MB -> {Rss() / 1e6:F0} MB");
        return 0;
    }

    static int[][] Prompts(int batch, int length, int vocab)
    {
        var random = new Random(1);
        return [.. Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, length).Select(_ => random.Next(vocab)).ToArray())];
    }

    static long Rss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Process.GetCurrentProcess().WorkingSet64 > 0 ? RefreshedWorkingSet() : 0;
    }

    static long RefreshedWorkingSet()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }

}
