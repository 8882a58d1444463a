using Remix.Checkpoints;
using Remix.Evaluation;
using Remix.Models;
using Remix.Models.Kernels;
using Remix.Runtime;
using Remix.Tests.Support;
using static TorchSharp.torch;

namespace Remix.Tests.Evaluation;

/// <summary>The CPU decoder against libtorch's forward pass: the same greedy ids, logits within float32 rounding, and no dependence on the thread count.</summary>
[Collection(ThreadCountCollection.Name)]
public class CpuDecoderTests
{
    static readonly int[][] Prompts = [[256, 72, 105], [256, 10, 20, 30, 40, 50, 60, 70], [256], [256, 5, 5, 5, 5, 5]];

    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "configs", name);

    /// <summary>karpathy's stories260K shape: dim 64, 5 layers, 8 heads / 4 KV heads, hidden 172, vocabulary 512.</summary>
    static LlamaConfig Stories260K() =>
        RandomCheckpoint.TinyConfig(hiddenSize: 64, layers: 5, heads: 8, kvHeads: 4, intermediateSize: 172) with { VocabSize = 512, InitializerRange = 0.25 };

    public static TheoryData<string> Shapes => new() { "gqa", "one-kv-head", "untied", "qwen2", "llama-biases", "llama3-rope", "mistral-window", "stories260k" };

    static LlamaConfig Shape(string name) => name switch
    {
        "gqa" => TestModels.Config(heads: 4, kvHeads: 2),
        "one-kv-head" => TestModels.Config(heads: 4, kvHeads: 1),
        "untied" => TestModels.Config(tied: false, heads: 4, kvHeads: 4),
        "qwen2" => TestModels.Config("qwen2", tied: false),
        "llama-biases" => TestModels.Config(attentionBias: true, mlpBias: true),
        "llama3-rope" => TestModels.Config() with { RopeScaling = LlamaConfig.Load(Fixture("llama3.json")).RopeScaling, RopeTheta = 500000 },
        "mistral-window" => TestModels.Config("mistral", slidingWindow: 5),
        "stories260k" => Stories260K(),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GreedyIds_EqualTheLibtorchPath(string shape)
    {
        var config = Shape(shape);
        if (shape == "llama3-rope") Assert.Equal("llama3", config.RopeScaling!.Type);
        using var model = TestModels.Create(config, seed: 21);
        var fused = new GreedyGenerator(model);
        var reference = new GreedyGenerator(model, KernelChoice.Reference);
        Assert.Equal(CpuKernels.Accelerated, fused.UsesCpuDecoder); // where .NET has no vector instructions both run libtorch
        Assert.False(reference.UsesCpuDecoder);
        var seen = new HashSet<int>();
        foreach (var prompt in Prompts)
        {
            var expected = reference.Generate([prompt], 16, [])[0].Tokens;
            seen.UnionWith(expected);
            Assert.Equal(expected, fused.Generate([prompt], 16, [])[0].Tokens);
        }
        Assert.True(seen.Count > 8, "the micro model should not be degenerate");
        // All prompts at once: left padding, each row at its own position.
        var batchExpected = reference.Generate(Prompts, 16, []);
        var batch = fused.Generate(Prompts, 16, []);
        for (int i = 0; i < Prompts.Length; i++) Assert.Equal(batchExpected[i].Tokens, batch[i].Tokens);
    }

    [Fact]
    public void BundledModel_GreedyIds_EqualTheLibtorchPath()
    {
        var dir = Path.GetDirectoryName(Remix.Data.Bundled.BundledPaths.Find("models/remix-tiny/config.json"))!;
        using var loaded = LoadedModel.Load(dir);
        var fused = new TextGenerator(loaded);
        string[] prompts = ["Once upon a time", "The capital of France is", "Q: Who wrote Hamlet?\nA:", "1, 2, 3,"];
        var reference = new GreedyGenerator(loaded.Model, KernelChoice.Reference);
        Assert.Equal(CpuKernels.Accelerated, new GreedyGenerator(loaded.Model).UsesCpuDecoder);
        var encoded = prompts.Select(p => loaded.Tokenizer.Encode(p)).ToList();
        var expected = reference.Generate(encoded, 24, loaded.StopTokenIds);
        var actual = fused.Generate(prompts, 24, batchSize: 4);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(expected[i].Tokens, actual[i].Sequence.Tokens);
            Assert.Equal(expected[i].Stopped, actual[i].Sequence.Stopped);
        }
        Assert.Contains(expected, s => s.Tokens.Length > 8);
    }

    [Fact]
    public void StopTokens_EndEachRowAsOnTheLibtorchPath()
    {
        using var model = TestModels.Create(TestModels.Config(), seed: 8);
        var reference = new GreedyGenerator(model, KernelChoice.Reference);
        var free = reference.Generate(Prompts, 12, []);
        int stop = free[1].Tokens[5];
        var expected = reference.Generate(Prompts, 12, [stop]);
        var actual = new GreedyGenerator(model).Generate(Prompts, 12, [stop]);
        Assert.True(expected[1].Stopped);
        for (int i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(expected[i].Tokens, actual[i].Tokens);
            Assert.Equal(expected[i].Stopped, actual[i].Stopped);
        }
    }

    /// <summary>Logits of two decoder steps after a padded prefill, against a full forward pass over each row alone.</summary>
    [Theory]
    [InlineData("gqa")]
    [InlineData("qwen2")]
    [InlineData("llama3-rope")]
    [InlineData("mistral-window")]
    [InlineData("stories260k")]
    public void StepLogits_MatchTheForwardPass_WithinFloat32Rounding(string shape)
    {
        var config = Shape(shape);
        using var model = TestModels.Create(config, seed: 5);
        int[][] prompts = [[256, 3, 9, 27, 81, 243, 7], [256, 1, 2]];
        int[][] fed = [[11, 12], [13, 14]]; // two steps per row
        AssertStepsMatchTheForwardPass(model, prompts, fed, Decode(model, prompts, fed));
    }

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    public void EveryVectorWidth_MatchesTheForwardPass(int bits)
    {
        // head_dim 12 and hidden 36 are not whole vectors at any width, so the scalar tails run too.
        var config = RandomCheckpoint.TinyConfig(hiddenSize: 36, layers: 2, heads: 3, kvHeads: 1, intermediateSize: 52) with { VocabSize = 300, InitializerRange = 0.25 };
        using var model = TestModels.Create(config, seed: 9);
        int[][] prompts = [[256, 4, 8, 15, 16, 23], [256, 42]];
        int[][] fed = [[100, 101, 102], [103, 104, 105]];
        AssertStepsMatchTheForwardPass(model, prompts, fed, Decode(model, prompts, fed, bits));
    }

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    public void LargeBatches_ProjectOverTheBatch_AndMatchTheForwardPass(int bits)
    {
        // 18 rows: whole vectors of rows and a partial one at every width (5 vectors at 128 bits, 3 at 256, 2 at 512, so the
        // single-vector tile runs too); output sizes 54 and 302 leave two weight rows after the tiles of four.
        var config = RandomCheckpoint.TinyConfig(hiddenSize: 36, layers: 2, heads: 3, kvHeads: 1, intermediateSize: 54) with { VocabSize = 302, InitializerRange = 0.25 };
        using var model = TestModels.Create(config, seed: 12);
        int[][] prompts = [.. Enumerable.Range(0, 18).Select(r => new[] { 256 }.Concat(Enumerable.Range(0, r % 5).Select(i => (r * 13 + i * 7) % 250 + 1)).ToArray())];
        int[][] fed = [.. Enumerable.Range(0, 18).Select(r => new[] { 100 + r, 120 + r })];
        AssertStepsMatchTheForwardPass(model, prompts, fed, Decode(model, prompts, fed, bits));
    }

    [Theory]
    [InlineData(3)] // fewer rows than a vector's lanes at 256 and 512 bits: dot products over the input
    [InlineData(20)] // a vector of rows or more at every width, and a partial one: projections over the batch
    public void OneAndTwoThreads_GiveBitwiseEqualLogitsAndEqualIds(int rows)
    {
        // Wide enough that every projection and the attention are split over the threads.
        var config = RandomCheckpoint.TinyConfig(hiddenSize: 128, layers: 2, heads: 4, kvHeads: 2, intermediateSize: 344) with { VocabSize = 512, InitializerRange = 0.1 };
        using var model = TestModels.Create(config, seed: 3);
        // Every position goes through the decoder (an empty cache, no libtorch prefill, whose sums may depend on the thread count).
        int[][] tokens = [.. Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, 24).Select(i => (i * 7 + r * 31) % 500 + 1).ToArray())];
        int[][] prompts = [.. tokens.Select(t => t[..20])];
        int threads = get_num_threads();
        var runs = new List<float[][]>();
        var ids = new List<IReadOnlyList<GeneratedSequence>>();
        try
        {
            foreach (int count in new[] { 1, 2 })
            {
                set_num_threads(count);
                runs.Add(DecodeOnly(model, tokens));
                ids.Add(new GreedyGenerator(model).Generate(prompts, 12, []));
            }
        }
        finally
        {
            set_num_threads(threads);
        }
        for (int s = 0; s < runs[0].Length; s++) Assert.Equal(runs[0][s], runs[1][s]); // exact float equality
        for (int r = 0; r < prompts.Length; r++) Assert.Equal(ids[0][r].Tokens, ids[1][r].Tokens);
    }

    [Fact]
    public void ManyGenerations_KeepTheManagedHeapFlat()
    {
        using var model = TestModels.Create(Stories260K(), seed: 2);
        var generator = new GreedyGenerator(model);
        for (int i = 0; i < 5; i++) generator.Generate(Prompts, 32, []);
        long before = HeapAfterCollection();
        for (int i = 0; i < 40; i++) generator.Generate(Prompts, 32, []);
        long after = HeapAfterCollection();
        // Each call allocates about 200 KB of buffers; 40 calls kept would be 8 MB.
        Assert.True(after - before < 1_000_000, $"managed heap grew from {before:N0} to {after:N0} bytes");
    }

    /// <summary>Each decoder step's logits (<see cref="Decode"/>) against a full forward pass over its row alone, within float32 rounding.</summary>
    static void AssertStepsMatchTheForwardPass(LlamaForCausalLM model, int[][] prompts, int[][] fed, float[][] steps)
    {
        int vocab = model.Config.VocabSize;
        for (int b = 0; b < prompts.Length; b++)
            for (int s = 0; s < fed[b].Length; s++)
            {
                var all = TestModels.Logits(model, [.. prompts[b].Concat(fed[b].Take(s + 1)).Select(i => (long)i)]);
                var expected = all.AsSpan(all.Length - vocab);
                var actual = steps[s].AsSpan(b * vocab, vocab);
                for (int v = 0; v < vocab; v++)
                {
                    float tolerance = 2e-4f + 1e-4f * Math.Abs(expected[v]);
                    Assert.InRange(actual[v], expected[v] - tolerance, expected[v] + tolerance);
                }
            }
    }

    /// <summary>Feeds every column of equal-length rows through the decoder from an empty cache; each step's logits.</summary>
    static float[][] DecodeOnly(LlamaForCausalLM model, int[][] tokens)
    {
        using var noGrad = no_grad();
        int steps = tokens[0].Length;
        using var cache = new KvCache(model.Config, tokens.Length, steps, model.Device, model.DType);
        var decoder = new CpuDecoder(model, cache, new int[tokens.Length], TestWidth);
        var logits = new float[steps][];
        for (int s = 0; s < steps; s++)
        {
            decoder.Step([.. tokens.Select(t => t[s])]);
            logits[s] = decoder.Logits.ToArray();
        }
        return logits;
    }

    /// <summary>The process's width, or 256 bits (emulated) where .NET has no vector instructions, so the decoder is tested there too.</summary>
    static int TestWidth => CpuKernels.Accelerated ? CpuKernels.VectorBits : 256;

    static long HeapAfterCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(true);
    }

    /// <summary>Prefills left-padded prompts on libtorch, then feeds fed[row][step] through the decoder; each step's logits [batch, vocab].</summary>
    static float[][] Decode(LlamaForCausalLM model, int[][] prompts, int[][] fed, int? vectorBits = null)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int width = prompts.Max(p => p.Length), steps = fed[0].Length;
        var pad = prompts.Select(p => width - p.Length).ToArray();
        var ids = prompts.SelectMany(p => Enumerable.Repeat(0L, width - p.Length).Concat(p.Select(i => (long)i))).ToArray();
        // Padding gets position 1 and is masked out, as GreedyGenerator feeds it.
        var positions = prompts.SelectMany(p => Enumerable.Range(0, width).Select(i => i < width - p.Length ? 1L : i - (width - p.Length))).ToArray();
        var mask = prompts.SelectMany(p => Enumerable.Range(0, width).Select(i => i < width - p.Length ? 0L : 1L)).ToArray();
        using var cache = new KvCache(model.Config, prompts.Length, width + steps, model.Device, model.DType);
        model.Forward(tensor(ids, [prompts.Length, width]), tensor(positions, [prompts.Length, width]),
            pad.Any(p => p > 0) ? tensor(mask, [prompts.Length, width]) : null, cache, lastOnly: true);
        var decoder = new CpuDecoder(model, cache, pad, vectorBits ?? TestWidth);
        var logits = new float[steps][];
        for (int s = 0; s < steps; s++)
        {
            decoder.Step([.. fed.Select(f => f[s])]);
            logits[s] = decoder.Logits.ToArray();
        }
        Assert.Equal(width + steps, cache.Length);
        return logits;
    }

    [Fact]
    public void Fits_RefusesAGenerationWhoseCacheOrBuffersPassThe32BitCounts_WhichThenStaysOnTheForwardPass()
    {
        var c = Stories260K();
        Assert.True(CpuDecoder.Fits(c, 256, 512));
        // 2^29 floats a layer would be batch 64 x 8 KV heads x 8192 positions x head size 128; the transposed keys round
        // the positions up to an odd number of 16-float vectors: 8176 stays 8176 (511 vectors), 8177 becomes 8208.
        var large = c with { NumAttentionHeads = 8, NumKeyValueHeads = 8, HiddenSize = 1024, HeadDim = 128 };
        Assert.True(CpuDecoder.Fits(large, 64, 8176));
        Assert.False(CpuDecoder.Fits(large, 64, 8177));
        Assert.False(CpuDecoder.Fits(c with { VocabSize = 1 << 24 }, 32, 16)); // the logits of 32 rows
    }
}
