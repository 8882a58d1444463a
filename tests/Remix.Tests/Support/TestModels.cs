using Remix.Checkpoints;
using Remix.Models;
using Remix.Tokenization;
using static TorchSharp.torch;

namespace Remix.Tests.Support;

/// <summary>Micro models that run in milliseconds, with weights large enough that greedy decoding is not degenerate.</summary>
public static class TestModels
{
    public static LlamaConfig Config(string modelType = "llama", bool tied = true, int layers = 2, int hidden = 32,
        int heads = 4, int kvHeads = 2, int? slidingWindow = null, bool attentionBias = false, bool mlpBias = false) =>
        RandomCheckpoint.TinyConfig(hidden, layers, heads, kvHeads, intermediateSize: hidden * 2 + 8) with
        {
            ModelType = modelType,
            TieWordEmbeddings = tied,
            AttentionBias = attentionBias,
            MlpBias = mlpBias,
            SlidingWindow = slidingWindow,
            InitializerRange = 0.25,
        };

    /// <summary>A model with seeded weights; biases (where the shape has them) are random too, so they matter.</summary>
    public static LlamaForCausalLM Create(LlamaConfig config, long seed = 1, ScalarType dtype = ScalarType.Float32)
    {
        var model = new LlamaForCausalLM(config, CPU, dtype);
        model.InitializeWeights(seed);
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed + 1000, CPU);
        foreach (var (name, p) in model.named_parameters())
            if (name.EndsWith(".bias", StringComparison.Ordinal) || name.EndsWith("norm.weight", StringComparison.Ordinal))
                p.add_(empty(p.shape, ScalarType.Float32).normal_(0, 0.1, generator).to(p.dtype));
        return model;
    }

    /// <summary>
    /// The trainer tests' base model saved into <paramref name="directory"/> with a byte-level tokenizer: two layers, hidden 32,
    /// head_dim 16 (so attention runs on the CPU kernel at every vector width, as in real training), initialized at 0.02.
    /// </summary>
    public static string SaveTrainerBase(string directory)
    {
        using var model = Create(Config(hidden: 32, layers: 2, heads: 2, kvHeads: 1) with { InitializerRange = 0.02 }, seed: 1);
        HfCheckpoint.Save(model, directory);
        ByteLevelTokenizerFiles.Write(directory);
        return directory;
    }

    public static float[] Logits(LlamaForCausalLM model, long[] ids)
    {
        using var noGrad = no_grad();
        using var input = tensor(ids, [1, ids.Length], ScalarType.Int64);
        using var logits = model.Forward(input);
        using var f = logits.to(ScalarType.Float32);
        return f.data<float>().ToArray();
    }
}
