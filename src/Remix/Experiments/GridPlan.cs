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
        var ids = File.Exists(runs) ? ReadLinesOf(runs).Select(l => l.Id).ToHashSet() : [];
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
        var line = Line(directory, index);
        // Its Json is the run folder's config snapshot: the entry's own spec, as runs.jsonl plans it.
        var experiment = ExperimentSpec.Parse(line.Spec, BaseDirectory(directory)) with
        {
            Json = line.Spec.ToJson().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }),
        };
        if (experiment.Seeds is not [var seed] || seed != line.Seed)
            throw line.Spec.Error("seeds", $"expected [{line.Seed}], the entry's seed");
        return new PlannedEntry(line.Id, line.Seed, experiment);
    }

    /// <summary>Entry <paramref name="index"/> of the plan folder <paramref name="directory"/> as its line holds it, its spec not read.</summary>
    public static PlannedLine Line(string directory, int index)
    {
        var lines = ReadLines(directory);
        if (index < 0 || index >= lines.Count)
            throw new InvalidInputException(Path.Combine(directory, RunsFileName), $"no entry {index}: it holds {lines.Count} entr{(lines.Count == 1 ? "y" : "ies")} (indices 0 to {lines.Count - 1})");
        return lines[index];
    }

    /// <summary>
    /// Every line of the plan folder's <c>runs.jsonl</c>, in order: the one reader of it, so that an id that is no folder
    /// name, or a line that is no entry, is refused at its line whoever reads it.
    /// </summary>
    public static IReadOnlyList<PlannedLine> ReadLines(string directory)
    {
        var runs = Path.Combine(directory, RunsFileName);
        if (!File.Exists(runs)) throw new InvalidInputException(directory, $"not a grid plan (no {RunsFileName}): plan it with remix grid plan SPEC --out {directory}");
        return ReadLinesOf(runs);
    }

    static List<PlannedLine> ReadLinesOf(string runs)
    {
        var result = new List<PlannedLine>();
        var lines = File.ReadAllText(runs).Split('\n');
        for (int number = 0; number < lines.Length; number++)
        {
            if (lines[number].Trim().Length == 0) continue;
            // Blank lines before it keep the errors at their line of runs.jsonl.
            var node = SpecNode.Parse(new string('\n', number) + lines[number], runs).AsObject("a planned entry {\"id\", \"axes\", \"seed\", \"spec\"}");
            var idNode = node.Require("id", "the entry's id");
            var id = idNode.AsString();
            if (id is "" or "." or ".." || id.IndexOfAny(['/', '\\', '\0']) >= 0) throw idNode.Expected("a folder name");
            int seed = node.Require("seed", "the entry's seed").AsInt();
            var axes = new List<(string, string, JsonNode?)>();
            if (node.Get("axes") is { } axesNode)
                foreach (var (path, _, value) in axesNode.AsObject("the entry's axes {PATH: {name, value}}").Entries)
                {
                    var v = value.AsObject("an axis value {name, value}");
                    axes.Add((path, v.Require("name", "the value's name").AsString(), v.Get("value")?.ToJson()));
                }
            var spec = node.Require("spec", "the entry's experiment").AsObject();
            result.Add(new PlannedLine(result.Count, id, seed, axes, spec));
        }
        return result;
    }

    /// <summary>
    /// An entry's configuration: its resolved spec without its seed, as JSON text with every object's keys in order, so
    /// that every seed of one configuration has the same, and two configurations never do.
    /// </summary>
    public static string ConfigurationKey(JsonObject spec)
    {
        var clone = spec.DeepClone().AsObject();
        clone.Remove("seeds");
        return Canonical(clone);
    }

    static string Canonical(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => JsonValue.Create(kv.Key).ToJsonString() + ":" + Canonical(kv.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

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
}
