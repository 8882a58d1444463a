using System.Text.Json;
using Remix.IO;
using static TorchSharp.torch;

namespace Remix.Checkpoints.SafeTensors;

/// <summary>
/// The weights of a Hugging Face checkpoint directory: <c>model.safetensors</c>, or the shards
/// named by <c>model.safetensors.index.json</c>, seen as one name-to-tensor store.
/// </summary>
public sealed class CheckpointWeights : IDisposable
{
    readonly List<SafeTensorsFile> _files;
    readonly Dictionary<string, SafeTensorsFile> _byName;

    CheckpointWeights(List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> byName)
    {
        _files = files;
        _byName = byName;
    }

    /// <summary>Every tensor name, in file order.</summary>
    public IEnumerable<string> Names => _files.SelectMany(f => f.Tensors.Select(t => t.Name)).Where(n => _byName.ContainsKey(n));

    public IReadOnlyList<SafeTensorsFile> Files => _files;

    public bool Contains(string name) => _byName.ContainsKey(name);

    public SafeTensorInfo Info(string name) => _byName[name].Info(name);

    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null) => _byName[name].Read(name, dtype, device);

    /// <summary>The file that holds <paramref name="name"/>.</summary>
    public string FileOf(string name) => _byName[name].Path;

    /// <summary>Opens and validates every weight file of a checkpoint directory.</summary>
    public static CheckpointWeights Open(string directory)
    {
        var single = Path.Combine(directory, SafeTensorsWriter.SingleFileName);
        var index = Path.Combine(directory, SafeTensorsWriter.IndexFileName);
        if (File.Exists(single))
        {
            var file = SafeTensorsFile.Open(single);
            return new CheckpointWeights([file], file.Tensors.ToDictionary(t => t.Name, _ => file));
        }
        if (File.Exists(index)) return OpenSharded(directory, index);
        var hint = File.Exists(Path.Combine(directory, "pytorch_model.bin"))
            ? " (pytorch_model.bin is not read: convert it to safetensors)" : "";
        throw new InvalidInputException(directory, $"no {SafeTensorsWriter.SingleFileName} or {SafeTensorsWriter.IndexFileName} found{hint}");
    }

    static CheckpointWeights OpenSharded(string directory, string indexPath)
    {
        using var doc = JsonFields.ParseFile(indexPath);
        var fields = new JsonFields(doc.RootElement, indexPath);
        var map = fields.OptionalObject("weight_map") ?? throw fields.Error("weight_map", "an object mapping tensor names to shard files", null);
        var files = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        var byName = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in doc.RootElement.GetProperty("weight_map").EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw map.Error(entry.Name, "a shard file name", entry.Value);
                var shard = entry.Value.GetString()!;
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or "..")
                    throw map.Error(entry.Name, "a file name inside the checkpoint directory", entry.Value);
                if (!files.TryGetValue(shard, out var file))
                {
                    var shardPath = Path.Combine(directory, shard);
                    if (!File.Exists(shardPath))
                        throw new InvalidInputException(indexPath, $"field 'weight_map.{entry.Name}': shard file {shard} does not exist");
                    files[shard] = file = SafeTensorsFile.Open(shardPath);
                }
                if (!file.Contains(entry.Name))
                    throw new InvalidInputException(indexPath, $"field 'weight_map.{entry.Name}': shard {shard} holds no tensor of that name");
                byName[entry.Name] = file;
            }
            if (byName.Count == 0) throw new InvalidInputException(indexPath, "field 'weight_map': expected at least one tensor, found none");
            return new CheckpointWeights([.. files.Values.OrderBy(f => f.Path, StringComparer.Ordinal)], byName);
        }
        catch
        {
            foreach (var f in files.Values) f.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
