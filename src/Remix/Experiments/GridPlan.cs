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
            // Relative to the plan folder, so that a folder moved (or mounted elsewhere) with the grid's files still finds them.
            ["base_directory"] = Path.GetRelativePath(Path.GetFullPath(directory), Path.GetDirectoryName(Path.GetFullPath(grid.File))!),
        };
        AtomicFile.WriteAllText(Path.Combine(directory, PlanFileName), plan.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return new GridPlan(grid.Entries.Count, added.Count, grid.Entries.Count - added.Count, runs);
    }

    /// <summary>The folder of the grid folder's runs, one <c>ID/</c> folder an entry.</summary>
    public const string RunsDirectoryName = "runs";

    /// <summary>The shared-stages cache of a grid folder, where entries that begin alike share a stage's training.</summary>
    public const string SharedStagesDirectoryName = "shared-stages";

    /// <summary>
    /// Entry <paramref name="index"/> (from 0, the line of <c>runs.jsonl</c>) of the plan folder <paramref name="directory"/>,
    /// its spec read by the spec parser with relative paths leading where <c>plan.json</c>'s <c>base_directory</c> says.
    /// </summary>
    public static PlannedEntry ReadEntry(string directory, int index)
    {
        var (node, id) = EntryLine(directory, index);
        var spec = node.Require("spec", "the entry's experiment").AsObject();
        var experiment = ExperimentSpec.Parse(spec, BaseDirectory(directory));
        return new PlannedEntry(id, experiment.Seeds[0], experiment);
    }

    /// <summary>The id of entry <paramref name="index"/> of the plan folder <paramref name="directory"/>, its spec not read.</summary>
    public static string EntryId(string directory, int index) => EntryLine(directory, index).Id;

    /// <summary>
    /// Every entry of the plan folder <paramref name="directory"/> as <c>runs.jsonl</c> holds it, in its order: the id, the
    /// <c>axes</c> (<c>{PATH: {"name", "value"}}</c>, empty where the line has none) and the resolved spec, both as JSON, not parsed as a spec.
    /// </summary>
    public static IReadOnlyList<(string Id, JsonObject Axes, JsonObject Spec)> ReadEntryJson(string directory)
    {
        var (runs, lines) = Lines(directory);
        var entries = new List<(string, JsonObject, JsonObject)>();
        for (int number = 0; number < lines.Length; number++)
        {
            if (lines[number].Trim().Length == 0) continue;
            var (node, id) = ParseLine(runs, lines, number);
            var axes = node.Get("axes")?.AsObject("the entry's axes {PATH: {\"name\", \"value\"}}").ToJson() ?? [];
            entries.Add((id, axes, node.Require("spec", "the entry's experiment").AsObject().ToJson()));
        }
        return entries;
    }

    static (SpecObject Node, string Id) EntryLine(string directory, int index)
    {
        var (runs, lines) = Lines(directory);
        int count = lines.Count(l => l.Trim().Length > 0);
        if (index < 0 || index >= count)
            throw new InvalidInputException(runs, $"no entry {index}: it holds {count} entr{(count == 1 ? "y" : "ies")} (indices 0 to {count - 1})");
        int number = 0;
        while (lines[number].Trim().Length == 0 || index-- > 0) number++;
        return ParseLine(runs, lines, number);
    }

    static (string Runs, string[] Lines) Lines(string directory)
    {
        var runs = Path.Combine(directory, RunsFileName);
        if (!File.Exists(runs)) throw new InvalidInputException(directory, $"not a grid plan (no {RunsFileName}): plan it with remix grid plan SPEC --out {directory}");
        return (runs, File.ReadAllText(runs).Split('\n'));
    }

    /// <summary>Line <paramref name="number"/> (from 0) of <paramref name="runs"/>, an entry whose id must be a folder name.</summary>
    static (SpecObject Node, string Id) ParseLine(string runs, string[] lines, int number)
    {
        // Blank lines before it keep the spec's errors at their line of runs.jsonl.
        var node = SpecNode.Parse(new string('\n', number) + lines[number], runs).AsObject("a planned entry {\"id\", \"seed\", \"spec\", ...}");
        var idNode = node.Require("id", "the entry's id");
        var id = idNode.AsString();
        if (id is "" or "." or ".." || id.IndexOfAny(['/', '\\', '\0']) >= 0) throw idNode.Expected("a folder name");
        return (node, id);
    }

    /// <summary>The folder relative paths in the entries of plan folder <paramref name="directory"/> are relative to.</summary>
    static string BaseDirectory(string directory)
    {
        var path = Path.Combine(directory, PlanFileName);
        var text = File.Exists(path) ? File.ReadAllText(path) : throw new InvalidInputException(directory, $"not a grid plan (no {PlanFileName})");
        var node = SpecNode.Parse(text, path).AsObject("a plan {\"grid\", \"base_directory\"}");
        var baseDirectory = node.Require("base_directory", "the folder the grid's relative paths are relative to").AsString();
        // An absolute one (as older plans wrote) is taken as it is.
        return Path.GetFullPath(Path.Combine(directory, baseDirectory));
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
