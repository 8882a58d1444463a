using System.Buffers.Binary;
using System.Text.Json.Nodes;
using System.Text;
using Remix.IO;
using static TorchSharp.torch;

namespace Remix.Checkpoints.SafeTensors;

/// <summary>
/// Writes safetensors files (single or sharded with <c>model.safetensors.index.json</c>), each
/// written to a temporary name and renamed, with <c>__metadata__: {"format": "pt"}</c>.
/// </summary>
public static class SafeTensorsWriter
{
    public const string IndexFileName = "model.safetensors.index.json";
    public const string SingleFileName = "model.safetensors";

    /// <summary>Writes named tensors (any device, contiguous or not) in the given order to one file.</summary>
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in tensors)
            if (name == "__metadata__" || !seen.Add(name)) throw new ArgumentException($"tensor name '{name}' is reserved or repeated");

        var header = new JsonObject();
        var meta = new JsonObject { ["format"] = "pt" };
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        header["__metadata__"] = meta;
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            var dtype = SafeTensorDType.Of(tensor.dtype);
            long length = tensor.numel() * dtype.Size;
            header[name] = new JsonObject
            {
                ["dtype"] = dtype.Name,
                ["shape"] = new JsonArray([.. tensor.shape.Select(d => (JsonNode)d)]),
                ["data_offsets"] = new JsonArray(offset, offset + length),
            };
            offset += length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padding = (8 - json.Length % 8) % 8; // keeps the data 8-byte aligned, as the reference writer does

        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
            stream.Write(length);
            stream.Write(json);
            for (int i = 0; i < padding; i++) stream.WriteByte((byte)' ');
            foreach (var (_, tensor) in tensors) WriteData(stream, tensor);
        });
    }

    static void WriteData(Stream stream, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var flat = tensor.detach().to(CPU).contiguous().view(-1);
        long perChunk = Math.Max(1, (1L << 30) / SafeTensorDType.Of(tensor.dtype).Size);
        for (long first = 0; first < flat.shape[0]; first += perChunk)
            stream.Write(flat.narrow(0, first, Math.Min(perChunk, flat.shape[0] - first)).bytes);
    }

    /// <summary>
    /// Writes the tensors into <paramref name="directory"/> as <c>model.safetensors</c> when they fit in
    /// <paramref name="maxShardBytes"/>, else as <c>model-0000k-of-0000n.safetensors</c> shards plus the
    /// index; returns the file names written. Files of the other layout left from before are removed.
    /// </summary>
    public static IReadOnlyList<string> WriteCheckpoint(string directory, IReadOnlyList<(string Name, Tensor Tensor)> tensors, long maxShardBytes = long.MaxValue)
    {
        Directory.CreateDirectory(directory);
        var shards = new List<List<(string, Tensor)>> { new() };
        long current = 0, total = 0;
        foreach (var item in tensors)
        {
            long size = item.Tensor.numel() * item.Tensor.element_size();
            if (current > 0 && current + size > maxShardBytes)
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(item);
            current += size;
            total += size;
        }

        var stale = StaleCheckpointFiles(directory);
        var written = new List<string>();
        if (shards.Count == 1)
        {
            Write(Path.Combine(directory, SingleFileName), shards[0]);
            written.Add(SingleFileName);
        }
        else
        {
            var weightMap = new JsonObject();
            for (int i = 0; i < shards.Count; i++)
            {
                var file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                Write(Path.Combine(directory, file), shards[i]);
                foreach (var (name, _) in shards[i]) weightMap[name] = file;
                written.Add(file);
            }
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
            AtomicFile.WriteAllText(Path.Combine(directory, IndexFileName), index.ToJsonString(new() { WriteIndented = true }));
            written.Add(IndexFileName);
        }
        foreach (var file in stale.Except(written)) File.Delete(Path.Combine(directory, file));
        return written;
    }

    static List<string> StaleCheckpointFiles(string directory) =>
        Directory.EnumerateFiles(directory)
            .Select(Path.GetFileName)
            .Where(f => f == SingleFileName || f == IndexFileName || (f!.StartsWith("model-", StringComparison.Ordinal) && f.EndsWith(".safetensors", StringComparison.Ordinal)))
            .Select(f => f!)
            .ToList();
}
