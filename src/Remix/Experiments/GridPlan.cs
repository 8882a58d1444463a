using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.IO;

namespace Remix.Experiments;

/// <summary>
/// A grid planned into a folder: <c>grid.yaml</c> (the grid file as it was), <c>plan.json</c> (where its relative paths
/// lead) and <c>runs.jsonl</c>, one resolved entry a line; what <see cref="Write"/> added and found already there.
/// </summary>
/// <param name="Entries">The grid's entries.</param>
/// <param name="Added">Entries appended to <c>runs.jsonl</c> by this plan.</param>
/// <param name="AlreadyPlanned">The grid's entries that the folder held already, with their lines untouched.</param>
/// <param name="RunsPath">The folder's <c>runs.jsonl</c>.</param>
public sealed record GridPlan(int Entries, int Added, int AlreadyPlanned, string RunsPath)
{
    /// <summary>The snapshot of the grid file in a plan folder.</summary>
    public const string SnapshotFileName = "grid.yaml";

    /// <summary>The entries of a plan folder, one JSON object a line.</summary>
    public const string RunsFileName = "runs.jsonl";

    /// <summary>Where the grid came from and the folder its relative paths are relative to.</summary>
    public const string PlanFileName = "plan.json";

    /// <summary>
    /// Plans <paramref name="grid"/> into <paramref name="directory"/>: a new folder gets every entry; a folder planned from
    /// the same grid file gets what it lacks (nothing, planned again); one planned from another grid file is refused unless
    /// <paramref name="extend"/>, which appends the entries it lacks and keeps every line it has.
    /// </summary>
    public static GridPlan Write(GridSpec grid, string directory, bool extend)
    {
        var snapshot = Path.Combine(directory, SnapshotFileName);
        var runs = Path.Combine(directory, RunsFileName);
        var text = File.ReadAllText(grid.File);
        if (File.Exists(snapshot))
        {
            if (File.ReadAllText(snapshot) != text && !extend)
                throw new InvalidInputException(directory, $"planned from another grid spec (its {SnapshotFileName} differs from {grid.File}): pass --extend to add the new entries, or plan into another folder");
        }
        else if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new InvalidInputException(directory, $"not a grid plan (no {SnapshotFileName}) and not empty: plan into a new or empty folder");

        var existing = File.Exists(runs) ? File.ReadAllText(runs) : "";
        var ids = existing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select((line, i) => IdOf(line, runs, i + 1)).ToHashSet();
        var added = grid.Entries.Where(e => !ids.Contains(e.Id)).ToList();
        if (added.Count > 0 || !File.Exists(runs))
        {
            var sb = new StringBuilder(existing);
            foreach (var entry in added) sb.Append(Line(entry)).Append('\n');
            AtomicFile.WriteAllText(runs, sb.ToString());
        }
        // After the entries, so that a snapshot never names a grid whose entries are not all there.
        AtomicFile.WriteAllText(snapshot, text);
        var plan = new JsonObject
        {
            ["grid"] = Path.GetFullPath(grid.File),
            ["base_directory"] = Path.GetDirectoryName(Path.GetFullPath(grid.File)),
        };
        AtomicFile.WriteAllText(Path.Combine(directory, PlanFileName), plan.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return new GridPlan(grid.Entries.Count, added.Count, grid.Entries.Count - added.Count, runs);
    }

    /// <summary>
    /// One line of <c>runs.jsonl</c>: <c>{"id", "axes": {PATH: {"name", "value"}}, "seed", "spec"}</c>, the spec being
    /// the resolved experiment with its one seed.
    /// </summary>
    public static string Line(GridEntry entry)
    {
        var axes = new JsonObject();
        foreach (var (path, value) in entry.Values)
            axes[path] = new JsonObject { ["name"] = value.Name, ["value"] = value.Value?.DeepClone() };
        return new JsonObject
        {
            ["id"] = entry.Id, ["axes"] = axes, ["seed"] = entry.Seed, ["spec"] = entry.Spec.DeepClone(),
        }.ToJsonString();
    }

    static string IdOf(string line, string file, int number)
    {
        try
        {
            if (JsonNode.Parse(line)?["id"]?.GetValue<string>() is { } id) return id;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { }
        throw new InvalidInputException($"{file}:{number}", "expected a planned entry {\"id\": ..., ...}");
    }
}
