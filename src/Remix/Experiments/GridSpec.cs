using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Remix.IO;
using YamlDotNet.RepresentationModel;

namespace Remix.Experiments;

/// <summary>
/// A grid of experiments, read from YAML or JSON: a base experiment (the keys of an experiment spec) plus <c>axes</c>, which
/// set fields of it by path to each of a list of values, and <c>zip</c> groups of axes that vary together; every other
/// combination is taken (the product). Each seed of each configuration is one <see cref="GridEntry"/>.
/// </summary>
/// <remarks>
/// Each entry is the base spec with its axes' values set in the file's YAML tree and then read by
/// <see cref="ExperimentSpec.Parse"/>, so it is validated exactly as a spec is, and an error points at the base spec's key
/// or at the axis value that set it, in the grid file.
/// </remarks>
public sealed partial record GridSpec
{
    /// <summary>The axis that lists seeds: each of its values is a seed, and each seed an entry of its own.</summary>
    public const string SeedsAxis = "seeds";

    /// <summary>The grid file, as the user named it.</summary>
    public required string File { get; init; }

    /// <summary>The axes in the file's order, the <see cref="SeedsAxis"/> among them if given.</summary>
    public required IReadOnlyList<GridAxis> Axes { get; init; }

    /// <summary>Every entry: the configurations in product order (the first axis slowest), each seed of one in turn.</summary>
    public required IReadOnlyList<GridEntry> Entries { get; init; }

    /// <summary>Paths named by the grid that do not exist here (only when loaded without requiring them).</summary>
    public IReadOnlyList<string> MissingPaths { get; init; } = [];

    /// <summary>
    /// Reads a grid and resolves every entry; each error is one line naming the grid file, line, column and key path. With
    /// <paramref name="requireFiles"/> false (a grid for another machine), missing paths are listed as
    /// <see cref="ExperimentSpec.Load"/> lists them.
    /// </summary>
    public static GridSpec Load(string path, bool requireFiles = true)
    {
        var root = ReadRoot(path);
        var axes = ReadAxes(root);
        var zip = ReadZip(root, axes);
        axes = [.. axes.Select(a => a with { Zip = zip.FindIndex(g => g.Contains(a.Path)) is var i and >= 0 ? i : null })];
        // Every key that is not an axis or a zip group is the base experiment's, which its parser checks.
        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var entries = new List<GridEntry>();
        var missing = new List<string>();
        foreach (var configuration in Configurations(axes))
        {
            var (tree, values) = Resolve(path, configuration);
            var spec = ExperimentSpec.Parse(new SpecNode(tree, path, "", null).AsObject(), baseDirectory, requireFiles);
            missing.AddRange(spec.MissingPaths.Where(p => !missing.Contains(p)));
            var json = new SpecNode(tree, path, "", null).AsObject().ToJson();
            foreach (var seed in spec.Seeds)
            {
                var one = OneSeed(json, seed);
                var text = one.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
                // In the file's order of the axes, whatever zip groups put together.
                var named = values.OrderBy(v => axes.FindIndex(a => a.Path == v.Path)).ToList();
                // A zip group is named in the id by its first axis: the others move with it.
                var slug = named.Where(v => axes.First(a => a.Path == v.Path) is var a && (a.Zip is null || axes.First(b => b.Zip == a.Zip) == a));
                entries.Add(new GridEntry(Id(slug, seed, one), named, seed, one, spec with { Seeds = [seed], Json = text }));
            }
        }
        return new GridSpec { File = path, Axes = axes, Entries = entries, MissingPaths = missing };
    }

    static SpecObject ReadRoot(string path) => SpecNode.Load(path).AsObject("a grid spec (an experiment spec's keys, axes and zip)");

    static List<GridAxis> ReadAxes(SpecObject root)
    {
        var node = root.Require("axes", "a mapping of field paths to lists of values");
        var map = node.AsObject("a mapping of field paths to lists of values, such as 'stages[1].mix[0].ratio: [0, 1, 2]'");
        if (map.Entries.Count == 0) throw node.Expected("at least one axis (PATH: [values])");
        var axes = new List<GridAxis>();
        foreach (var (key, keyNode, value) in map.Entries)
        {
            if (!PathSyntax().IsMatch(key)) throw keyNode.Error("expected a field path such as stages[1].mix[0].ratio or recipe.lr");
            var items = value.AsList("a non-empty list of values");
            if (items.Count == 0) throw value.Expected("a non-empty list of values");
            var values = new List<GridValue>();
            foreach (var item in items)
            {
                var (name, v) = NameAndValue(item);
                if (key == SeedsAxis) v.AsInt(expected: "a seed (an integer)");
                if (values.Any(x => x.Name == name))
                    throw item.Error($"the name \"{name}\" is an earlier value's too: name each value ({{name: N, value: V}})");
                values.Add(new GridValue(name, v.ToJson()));
            }
            axes.Add(new GridAxis(key, values));
        }
        return axes;
    }

    /// <summary><c>zip</c>: a list of groups, each a list of at least two axis paths with as many values each.</summary>
    static List<List<string>> ReadZip(SpecObject root, IReadOnlyList<GridAxis> axes)
    {
        var groups = new List<List<string>>();
        if (root.Get("zip") is not { } node) return groups;
        const string expected = "a list of groups, each a list of two or more axis paths";
        foreach (var group in node.AsList(expected))
        {
            var members = group.AsList("a list of two or more axis paths");
            if (members.Count < 2) throw group.Expected("two or more axis paths (axes that vary together)");
            var paths = new List<string>();
            foreach (var member in members)
            {
                var p = member.AsString("an axis path");
                if (axes.All(a => a.Path != p))
                    throw member.Error(NearestName.Closest(p, axes.Select(a => a.Path)) is { } near
                        ? $"\"{p}\" is not an axis (did you mean '{near}'?)" : $"\"{p}\" is not an axis (the axes are {SpecNode.Alternatives([.. axes.Select(a => a.Path)])})");
                if (p == SeedsAxis) throw member.Error("seeds vary on their own: each seed of each configuration is an entry");
                if (paths.Contains(p) || groups.Any(g => g.Contains(p))) throw member.Error($"\"{p}\" is in a zip group already");
                paths.Add(p);
            }
            var counts = paths.Select(p => axes.First(a => a.Path == p).Values.Count).ToList();
            if (counts.Distinct().Count() > 1)
                throw group.Error($"axes that vary together need as many values each: {string.Join(", ", paths.Select((p, i) => $"{p} has {counts[i]}"))}");
            groups.Add(paths);
        }
        return groups;
    }

    /// <summary>An item of an axis: <c>{name: N, value: V}</c>, or a value whose name is derived from it.</summary>
    static (string Name, SpecNode Value) NameAndValue(SpecNode item)
    {
        if (item.IsObject && item.AsObject() is { } o && o.Entries.Select(e => e.Key).Order().SequenceEqual(["name", "value"]))
        {
            var nameNode = o.Get("name")!;
            var name = nameNode.AsString("a short name");
            return name.Length > 0 ? (name, o.Get("value")!) : throw nameNode.Expected("a short name");
        }
        return (DerivedName(item) ?? throw item.Error("an object value needs a name: write {name: N, value: {...}}"), item);
    }

    /// <summary>A number or word as written, a file's name without its extension, list items' names joined by '+'.</summary>
    static string? DerivedName(SpecNode value)
    {
        if (value.IsObject) return null;
        if (value.IsList)
        {
            var names = value.AsList().Select(DerivedName).ToList();
            return names.Count > 0 && names.All(n => n is not null) ? string.Join('+', names) : null;
        }
        if (!value.IsString) return value.Text == "" ? "null" : value.Text;
        var text = value.Text;
        var file = text.Split('/', '\\')[^1];
        var bare = FileExtension().Replace(file, "");
        return bare.Length > 0 ? bare : text.Length > 0 ? text : null;
    }

    /// <summary>
    /// The configurations: one value index per axis (the seeds axis always 0, its values being the spec's seeds), zip
    /// groups moving together, the first varying dimension slowest.
    /// </summary>
    static IEnumerable<IReadOnlyList<(GridAxis Axis, int Index)>> Configurations(IReadOnlyList<GridAxis> axes)
    {
        // A dimension is an axis that varies alone, or a zip group (at its first axis's place).
        var dimensions = new List<List<GridAxis>>();
        foreach (var axis in axes.Where(a => a.Path != SeedsAxis))
            if (axis.Zip is { } z && dimensions.FirstOrDefault(d => d[0].Zip == z) is { } group) group.Add(axis);
            else dimensions.Add([axis]);
        var index = new int[dimensions.Count];
        while (true)
        {
            var configuration = dimensions.SelectMany((d, i) => d.Select(a => (a, index[i]))).ToList();
            if (axes.FirstOrDefault(a => a.Path == SeedsAxis) is { } seeds) configuration.Add((seeds, 0));
            yield return configuration;
            int k = dimensions.Count - 1;
            while (k >= 0 && ++index[k] == dimensions[k][0].Values.Count) index[k--] = 0;
            if (k < 0) yield break;
        }
    }

    /// <summary>
    /// The grid file's tree, read afresh, with <c>axes</c> and <c>zip</c> taken out and each axis's value set at its path
    /// (the seeds axis sets <c>seeds</c> to all its values); the value nodes keep their place in the file for errors.
    /// </summary>
    static (YamlMappingNode Tree, List<(string Path, GridValue Value)> Values) Resolve(string path, IReadOnlyList<(GridAxis Axis, int Index)> configuration)
    {
        var root = ReadRoot(path);
        var tree = (YamlMappingNode)root.Node.Yaml;
        var axisNodes = root.Get("axes")!.AsObject().Entries;
        tree.Children.Remove(new YamlScalarNode("axes"));
        tree.Children.Remove(new YamlScalarNode("zip"));
        var values = new List<(string, GridValue)>();
        foreach (var (axis, index) in configuration)
        {
            var (_, keyNode, list) = axisNodes.First(e => e.Key == axis.Path);
            var items = list.AsList().Select(i => NameAndValue(i).Value.Yaml).ToList();
            if (axis.Path == SeedsAxis)
            {
                // In the place of the base's seeds (or seed), so the entry reads as that spec with other seeds.
                var pairs = tree.Children.ToList();
                int at = pairs.FindIndex(p => p.Key is YamlScalarNode { Value: "seeds" or "seed" });
                var seeds = new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(SeedsAxis), new YamlSequenceNode(items));
                pairs.RemoveAll(p => p.Key is YamlScalarNode { Value: "seeds" or "seed" });
                pairs.Insert(at < 0 ? pairs.Count : at, seeds);
                tree.Children.Clear();
                foreach (var (k, v) in pairs) tree.Children.Add(k, v);
                continue;
            }
            Set(tree, axis.Path, items[index], keyNode);
            values.Add((axis.Path, axis.Values[index]));
        }
        return (tree, values);
    }

    /// <summary>Sets <paramref name="value"/> at <paramref name="path"/>, or refuses a path that names no field, at the axis key.</summary>
    static void Set(YamlMappingNode tree, string path, YamlNode value, SpecNode axisKey)
    {
        var segments = Segment().Matches(path).Select(m => m.Value).ToList();
        YamlNode current = tree;
        var at = "";
        for (int i = 0; i < segments.Count; i++)
        {
            bool last = i == segments.Count - 1;
            var segment = segments[i];
            var here = at + segment;
            if (segment.StartsWith('['))
            {
                int n = int.Parse(segment[1..^1], System.Globalization.CultureInfo.InvariantCulture);
                if (current is not YamlSequenceNode list) throw axisKey.Error($"{at} is not a list in the base spec, so {here} names nothing");
                if (n >= list.Children.Count)
                    throw axisKey.Error($"{here} does not exist ({(at == "stages" ? $"the spec has {list.Children.Count} stage{(list.Children.Count == 1 ? "" : "s")}" : $"{at} has {list.Children.Count} item{(list.Children.Count == 1 ? "" : "s")}")})");
                if (last) list.Children[n] = value;
                else current = list.Children[n];
            }
            else
            {
                var key = segment.TrimStart('.');
                if (current is not YamlMappingNode map) throw axisKey.Error($"{at} is not an object in the base spec, so {here} names nothing");
                var existing = map.Children.Keys.FirstOrDefault(k => k is YamlScalarNode { Value: var v } && v == key);
                // null leaves the field out, to its default: a method axis with replay in one value and none in another.
                if (last && new SpecNode(value, axisKey.File, here, null).IsNull)
                {
                    if (existing is not null) map.Children.Remove(existing);
                    else if (!KnownKeysUnder(at).Contains(key)) throw axisKey.Error($"{here} is no spec field");
                    return;
                }
                if (existing is not null)
                {
                    if (last) map.Children[existing] = value;
                    else current = map.Children[existing];
                }
                else
                {
                    var siblings = KnownKeysUnder(at);
                    if (!siblings.Contains(key))
                        throw axisKey.Error(NearestName.Closest(key, siblings) is { } near ? $"{here} is no spec field (did you mean '{near}'?)" : $"{here} is no spec field");
                    // A missing recipe is an empty one; other objects have required keys, so they must be in the base spec.
                    if (!last && key != "recipe") throw axisKey.Error($"{here} is not in the base spec: write it there to vary its keys");
                    var created = last ? value : new YamlMappingNode();
                    map.Children.Add(new YamlScalarNode(key), created);
                    current = created;
                }
            }
            at = here;
        }
    }

    /// <summary>The keys the spec reference knows directly under <paramref name="parent"/> (such as <c>stages[1].mix[0]</c>).</summary>
    static List<string> KnownKeysUnder(string parent)
    {
        var general = ListIndex().Replace(parent, "[]");
        // A stage's recipe takes the top-level recipe's keys, which the reference lists once.
        if (general == "stages[].recipe") general = "recipe";
        var prefix = general == "" ? "" : general + ".";
        return [.. SpecReference.Keys.Select(k => k.Path).Where(p => p.StartsWith(prefix, StringComparison.Ordinal) && !p[prefix.Length..].Contains('.') && !p[prefix.Length..].Contains('['))
            .Select(p => p[prefix.Length..])];
    }

    /// <summary>The spec's JSON with one seed: <c>seeds: [SEED]</c> where <c>seeds</c> (or <c>seed</c>) was, else at the end.</summary>
    static JsonObject OneSeed(JsonObject json, int seed)
    {
        var one = new JsonObject();
        bool placed = false;
        foreach (var (key, value) in json)
            if (key is "seeds" or "seed")
            {
                if (!placed) one["seeds"] = new JsonArray(seed);
                placed = true;
            }
            else one[key] = value?.DeepClone();
        if (!placed) one["seeds"] = new JsonArray(seed);
        return one;
    }

    /// <summary>
    /// <c>KEY-NAME_..._seed-N_HASH</c>: each axis's (a zip group's first axis's) last key and value name, the seed, and the first 10 hex digits of the
    /// SHA-256 of the resolved experiment's JSON, so an entry keeps its id however the grid around it grows.
    /// </summary>
    static string Id(IEnumerable<(string Path, GridValue Value)> values, int seed, JsonObject spec)
    {
        var slug = string.Join('_', values.Select(v => $"{Segment().Matches(v.Path).Last(m => !m.Value.StartsWith('[')).Value.TrimStart('.')}-{v.Value.Name}").Append($"seed-{seed}"));
        slug = Unsafe().Replace(slug, "-");
        if (slug.Length > 96) slug = slug[..96];
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(spec.ToJsonString())))[..10];
        return $"{slug}_{hash}";
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*$")]
    private static partial Regex PathSyntax();

    [GeneratedRegex(@"\.?[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\]")]
    private static partial Regex Segment();

    [GeneratedRegex(@"\[[0-9]+\]")]
    private static partial Regex ListIndex();

    [GeneratedRegex(@"\.[A-Za-z][A-Za-z0-9]*$")]
    private static partial Regex FileExtension();

    [GeneratedRegex(@"[^A-Za-z0-9._+-]")]
    private static partial Regex Unsafe();
}
