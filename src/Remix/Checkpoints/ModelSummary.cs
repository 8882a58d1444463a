using Remix.Checkpoints.SafeTensors;
using Remix.Models;

namespace Remix.Checkpoints;

/// <summary>What <c>remix model info</c> reports, read from config.json and the safetensors headers without loading weights.</summary>
public sealed record ModelSummary(
    LlamaConfig Config,
    long ParameterCount,
    IReadOnlyDictionary<string, long> StoredDTypes,
    IReadOnlyList<string> WeightFiles)
{
    /// <summary>Reads a checkpoint directory's config and weight headers.</summary>
    public static ModelSummary Read(string directory)
    {
        var config = HfCheckpoint.LoadConfig(directory);
        using var weights = CheckpointWeights.Open(directory);
        long count = 0;
        var dtypes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var name in weights.Names)
        {
            if (config.TieWordEmbeddings && name == "lm_head.weight") continue;
            var info = weights.Info(name);
            count += info.ElementCount;
            dtypes[info.DType.Name] = dtypes.GetValueOrDefault(info.DType.Name) + info.ElementCount;
        }
        return new ModelSummary(config, count, dtypes, [.. weights.Files.Select(f => Path.GetFileName(f.Path))]);
    }
}
