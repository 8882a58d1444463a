using Remix.Checkpoints.SafeTensors;
using Remix.IO;
using Remix.Models;
using Remix.Runtime;
using static TorchSharp.torch;

namespace Remix.Checkpoints;

/// <summary>
/// Loads and saves models in Hugging Face layout: <c>config.json</c>, safetensors weights (single or
/// sharded), and the tokenizer and generation files, so that transformers reads what Remix writes.
/// </summary>
public static class HfCheckpoint
{
    public const string ConfigFileName = "config.json";
    public const string GenerationConfigFileName = "generation_config.json";

    /// <summary>Files copied along with the weights when a model is saved next to its tokenizer.</summary>
    public static readonly IReadOnlyList<string> CompanionFiles =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", GenerationConfigFileName];

    /// <summary>Reads the config of a checkpoint directory.</summary>
    public static LlamaConfig LoadConfig(string directory)
    {
        if (!Directory.Exists(directory)) throw new InvalidInputException(directory, "checkpoint directory not found");
        return LlamaConfig.Load(Path.Combine(directory, ConfigFileName));
    }

    /// <summary>
    /// Builds the model of <c>config.json</c> on <paramref name="device"/> in <paramref name="dtype"/>
    /// and fills every parameter from the weights, converting dtype; <paramref name="kernels"/> is the model's
    /// <see cref="LlamaForCausalLM.Kernels"/>. Missing, unexpected or wrongly shaped tensors are refused with the tensor and file named.
    /// </summary>
    public static LlamaForCausalLM Load(string directory, Device? device = null, ScalarType dtype = ScalarType.Float32, KernelChoice kernels = KernelChoice.Auto)
    {
        var config = LoadConfig(directory);
        using var weights = CheckpointWeights.Open(directory);
        var model = new LlamaForCausalLM(config, device, dtype, kernels);
        try
        {
            LoadWeights(model, weights, directory);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Overwrites an existing model's parameters with a checkpoint directory's weights (same checks as <see cref="Load"/>).</summary>
    public static void LoadWeightsInto(LlamaForCausalLM model, string directory)
    {
        using var weights = CheckpointWeights.Open(directory);
        LoadWeights(model, weights, directory);
    }

    static void LoadWeights(LlamaForCausalLM model, CheckpointWeights weights, string directory)
    {
        var expected = new HashSet<string>(StringComparer.Ordinal);
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
            {
                expected.Add(name);
                if (!weights.Contains(name))
                    throw new InvalidInputException(directory, $"the weights lack tensor '{name}', which config.json implies");
                var info = weights.Info(name);
                if (!info.Shape.SequenceEqual(parameter.shape))
                    throw new InvalidInputException(weights.FileOf(name), $"tensor '{name}': expected shape [{string.Join(", ", parameter.shape)}] from config.json, found [{string.Join(", ", info.Shape)}]");
                using var value = weights.Read(name, parameter.dtype, parameter.device);
                parameter.copy_(value);
            }
        }
        foreach (var name in weights.Names)
        {
            if (expected.Contains(name) || IgnoredOnLoad(name, model.Config)) continue;
            throw new InvalidInputException(weights.FileOf(name), $"unexpected tensor '{name}': config.json implies no such parameter");
        }
    }

    /// <summary>Tensors a checkpoint may carry that the model does not use: rotary caches, and the LM head when embeddings are tied.</summary>
    static bool IgnoredOnLoad(string name, LlamaConfig config) =>
        name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)
        || (config.TieWordEmbeddings && name == "lm_head.weight");

    /// <summary>
    /// Writes <c>config.json</c> and the weights (in <paramref name="saveDtype"/>, default the model's),
    /// sharded above <paramref name="maxShardBytes"/>; copies the tokenizer and generation files from
    /// <paramref name="companionSource"/> when given. Every file is written atomically.
    /// </summary>
    public static void Save(LlamaForCausalLM model, string directory, string? companionSource = null,
        ScalarType? saveDtype = null, long maxShardBytes = 5_000_000_000)
    {
        Directory.CreateDirectory(directory);
        var dtype = saveDtype ?? model.DType;
        using var scope = NewDisposeScope();
        var tensors = model.named_parameters()
            .Select(p => (p.name, p.parameter.detach().to(dtype)))
            .ToList();
        SafeTensorsWriter.WriteCheckpoint(directory, tensors, maxShardBytes);
        var config = model.Config with { TorchDtype = DTypes.HfName(dtype) };
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), config.ToJson());
        if (companionSource is not null && Path.GetFullPath(companionSource) != Path.GetFullPath(directory))
            foreach (var file in CompanionFiles)
            {
                var source = Path.Combine(companionSource, file);
                if (File.Exists(source)) AtomicFile.Write(Path.Combine(directory, file), s => { using var src = File.OpenRead(source); src.CopyTo(s); });
            }
    }

    /// <summary>
    /// The token ids that end generation, as transformers decides them: <c>generation_config.json</c>'s
    /// <c>eos_token_id</c>, else config.json's, else the tokenizer's EOS token.
    /// </summary>
    public static IReadOnlyList<int> StopTokenIds(string directory, LlamaConfig config, int? tokenizerEos)
    {
        var path = Path.Combine(directory, GenerationConfigFileName);
        if (File.Exists(path))
        {
            using var doc = JsonFields.ParseFile(path);
            var ids = new JsonFields(doc.RootElement, path).OptionalIntOrList("eos_token_id");
            if (ids is { Length: > 0 }) return ids;
        }
        if (config.EosTokenIds.Count > 0) return config.EosTokenIds;
        return tokenizerEos is { } eos ? [eos] : [];
    }
}
