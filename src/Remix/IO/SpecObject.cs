using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Remix.IO;

/// <summary>
/// A mapping of a spec file read key by key: every getter records the key it asks for as one this level knows, and
/// <see cref="RefuseUnknownKeys"/> then refuses any other key, at its position, with the nearest known key as a hint.
/// </summary>
/// <remarks>
/// Ask for every key a level may hold (absent ones included) before refusing the rest; a key given with no value
/// (<c>lr:</c>) is refused by the typed getters rather than read as "use the default".
/// </remarks>
public sealed class SpecObject
{
    readonly List<(string Key, SpecNode KeyNode, SpecNode Value)> _entries = [];
    readonly List<string> _known = [];

    /// <summary>The mapping itself: its position is where a missing key is reported.</summary>
    public SpecNode Node { get; }

    internal SpecObject(SpecNode node, YamlMappingNode map)
    {
        Node = node;
        foreach (var (key, value) in map.Children)
        {
            var keyNode = new SpecNode(key, node.File, node.Path, node.AskedKeys);
            var name = key is YamlScalarNode { Value: { } text } ? text : throw keyNode.Expected("a key name");
            var path = node.Path == "" ? name : $"{node.Path}.{name}";
            if (_entries.Any(e => e.Key == name)) throw new SpecNode(key, node.File, path, node.AskedKeys).Error("duplicate key");
            _entries.Add((name, new SpecNode(key, node.File, path, node.AskedKeys), new SpecNode(value, node.File, path, node.AskedKeys)));
        }
    }

    /// <summary>The value of <paramref name="key"/>, or null when the key is absent; either way the key is known here.</summary>
    public SpecNode? Get(string key)
    {
        if (!_known.Contains(key)) _known.Add(key);
        Node.AskedKeys?.Add(Child(key));
        return _entries.FirstOrDefault(e => e.Key == key).Value;
    }

    /// <summary>
    /// The value of <paramref name="key"/>; refused at this mapping's position when absent, or at an unknown key that is
    /// a slip of it (so ask first for any other key of this level that is itself a slip away from <paramref name="key"/>).
    /// </summary>
    public SpecNode Require(string key, string expected)
    {
        if (Get(key) is { } value) return value;
        // A slip of the required key reads better as that than as a missing key.
        foreach (var (name, keyNode, _) in _entries)
            if (!_known.Contains(name) && NearestName.Closest(name, [key]) == key) throw UnknownKey(name, keyNode);
        throw new InvalidInputException(Node.Origin, $"{Child(key)}: missing (expected {expected})");
    }

    /// <summary>An optional string.</summary>
    public string? String(string key) => Get(key)?.AsString();

    /// <summary>An optional string that is one of <paramref name="choices"/>.</summary>
    public string? Choice(string key, params IReadOnlyList<string> choices) => Get(key)?.AsChoice(choices);

    /// <summary>An optional integer of at least <paramref name="min"/>.</summary>
    public int? Int(string key, int min = int.MinValue) => Get(key)?.AsInt(min);

    /// <summary>An optional finite number in a range (see <see cref="SpecNode.AsNumber"/>).</summary>
    public double? Number(string key, double min = double.NegativeInfinity, double max = double.PositiveInfinity, bool aboveMin = false) =>
        Get(key)?.AsNumber(min, max, aboveMin);

    /// <summary>An optional boolean.</summary>
    public bool? Bool(string key) => Get(key)?.AsBool();

    /// <summary>An optional list of mappings; <paramref name="expectedList"/> and <paramref name="expectedItem"/> describe them in errors.</summary>
    public IReadOnlyList<SpecObject>? Objects(string key, string expectedList, string expectedItem) =>
        Get(key) is { } list ? [.. list.AsList(expectedList).Select(item => item.AsObject(expectedItem))] : null;

    /// <summary>An optional mapping.</summary>
    public SpecObject? Object(string key) => Get(key)?.AsObject();

    /// <summary>The error about <paramref name="key"/>: at its value when present, else at this mapping.</summary>
    public InvalidInputException Error(string key, string message) =>
        _entries.FirstOrDefault(e => e.Key == key).Value is { } value ? value.Error(message) : new InvalidInputException(Node.Origin, $"{Child(key)}: {message}");

    /// <summary>Refuses the first key that no getter asked for, at the key's position.</summary>
    public void RefuseUnknownKeys()
    {
        foreach (var (name, keyNode, _) in _entries)
            if (!_known.Contains(name)) throw UnknownKey(name, keyNode);
    }

    /// <summary>Every key with its key node and value, in the file's order, for mappings whose keys are data (a grid's axes).</summary>
    internal IReadOnlyList<(string Key, SpecNode KeyNode, SpecNode Value)> Entries => _entries;

    /// <summary>The mapping as JSON, in the file's order.</summary>
    public JsonObject ToJson() => new(_entries.Select(e => KeyValuePair.Create(e.Key, e.Value.ToJson())));

    InvalidInputException UnknownKey(string name, SpecNode keyNode) =>
        keyNode.Error(NearestName.Closest(name, _known) is { } near ? $"unknown key (did you mean '{near}'?)"
            : _known.Count == 0 ? "unknown key"
            : $"unknown key (expected {SpecNode.Alternatives([.. _known.Select(k => $"'{k}'")])})");

    string Child(string key) => Node.Path == "" ? key : $"{Node.Path}.{key}";
}
