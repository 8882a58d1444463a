using System.Text.Json;
using System.Text.Json.Nodes;

namespace Remix.Training;

/// <summary>
/// Appends one JSON object per line to <c>metrics.jsonl</c> (flushed each time, so a killed run keeps
/// what it logged) and mirrors every number as a TensorBoard scalar under <c>tensorboard/</c>.
/// A run that resumes from step N first drops the lines after N (steps it is about to redo) from the
/// file. TensorBoard gets one event file: a rerun or a resume replaces the folder's event files with a
/// new one holding the kept lines again, so no step is shown twice and no earlier run lingers beside it.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter _writer;
    readonly TorchSharp.Modules.SummaryWriter? _tensorboard;

    /// <param name="outDir">The run directory.</param>
    /// <param name="keepThroughStep">Keep the existing lines up to this step (the checkpoint resumed from); -1 starts the file afresh.</param>
    /// <param name="tensorboard">Also write TensorBoard events.</param>
    public MetricsLog(string outDir, int keepThroughStep = -1, bool tensorboard = true)
    {
        Directory.CreateDirectory(outDir);
        Path = System.IO.Path.Combine(outDir, "metrics.jsonl");
        if (keepThroughStep >= 0 && File.Exists(Path)) KeepThrough(Path, keepThroughStep);
        var mode = keepThroughStep < 0 ? FileMode.Create : FileMode.Append;
        var kept = mode == FileMode.Append && File.Exists(Path) ? Read(Path) : [];
        _writer = new StreamWriter(new FileStream(Path, mode, FileAccess.Write, FileShare.Read), new System.Text.UTF8Encoding(false)) { NewLine = "\n", AutoFlush = true };
        if (!tensorboard) return;
        var events = System.IO.Path.Combine(outDir, "tensorboard");
        if (Directory.Exists(events))
            foreach (var old in Directory.EnumerateFiles(events, "events.out.tfevents.*")) File.Delete(old);
        _tensorboard = TorchSharp.torch.utils.tensorboard.SummaryWriter(events);
        foreach (var line in kept)
            WriteScalars(line["step"]!.GetValue<int>(), line["kind"]!.GetValue<string>(), line
                .Where(kv => kv.Key is not ("step" or "kind") && kv.Value?.GetValueKind() == JsonValueKind.Number)
                .Select(kv => (kv.Key, kv.Value!.GetValue<double>())));
    }

    void WriteScalars(int step, string prefix, IEnumerable<(string Key, double Value)> values)
    {
        foreach (var (key, value) in values) _tensorboard!.add_scalar($"{prefix}/{key}", (float)value, step);
    }

    public string Path { get; }

    /// <summary>Logs numbers, strings (and JSON nodes, as they are) for a step; numbers go to TensorBoard as <c>{prefix}/{key}</c>.</summary>
    public void Log(int step, string prefix, IReadOnlyDictionary<string, object> values)
    {
        var o = new JsonObject { ["step"] = step, ["kind"] = prefix };
        foreach (var (key, value) in values) o[key] = value as JsonNode ?? JsonValue.Create(value);
        if (_tensorboard is not null)
            WriteScalars(step, prefix, values.Where(kv => kv.Value is double or float or int or long).Select(kv => (kv.Key, Convert.ToDouble(kv.Value))));
        _writer.WriteLine(o.ToJsonString());
    }

    /// <summary>Rewrites the file with its lines up to <paramref name="step"/> (a line cut short by a kill is dropped too).</summary>
    static void KeepThrough(string path, int step)
    {
        var kept = File.ReadLines(path).Where(line =>
        {
            try { return JsonNode.Parse(line) is JsonObject o && o["step"] is JsonValue v && v.GetValue<int>() <= step; }
            catch (JsonException) { return false; }
        }).ToList();
        IO.AtomicFile.WriteAllText(path, string.Concat(kept.Select(l => l + "\n")));
    }

    /// <summary>Reads back the lines of a metrics file.</summary>
    public static List<JsonObject> Read(string path) =>
        [.. File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject())];

    public void Dispose() => _writer.Dispose();
}
