using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Remix.IO;

/// <summary>
/// One value of a YAML or JSON spec file, with its file, line, column and key path, read as a typed value or refused
/// with one line: <c>FILE:LINE:COLUMN: KEY.PATH: message</c>.
/// </summary>
/// <remarks>
/// Plain (unquoted) scalars are typed as in JSON and YAML 1.2's core schema: <c>null</c>, <c>~</c> or nothing is
/// null, <c>true</c>/<c>false</c> a boolean, digits an integer or a number; everything else, and every quoted
/// scalar, is a string. A JSON file is YAML 1.2 flow style, so it reads the same way.
/// </remarks>
public sealed partial class SpecNode
{
    enum Kind { Null, Bool, Integer, Number, String, List, Object }

    readonly YamlNode _node;
    readonly Kind _kind;

    /// <summary>Where the mappings of this document record the keys their readers ask for (see <see cref="Load"/>); null: nowhere.</summary>
    internal ISet<string>? AskedKeys { get; }

    /// <summary>The file the value came from, as the user named it.</summary>
    public string File { get; }

    /// <summary>Where the value sits in the file, such as <c>stages[1].recipe.lr</c>; empty for the whole document.</summary>
    public string Path { get; }

    /// <summary>The 1-based line where the value starts.</summary>
    public long Line => _node.Start.Line;

    /// <summary>The 1-based column where the value starts.</summary>
    public long Column => _node.Start.Column;

    /// <summary><c>FILE:LINE:COLUMN</c>, the origin of every error about this value.</summary>
    public string Origin => $"{File}:{Line}:{Column}";

    internal SpecNode(YamlNode node, string file, string path, ISet<string>? askedKeys)
    {
        _node = node;
        File = file;
        Path = path;
        AskedKeys = askedKeys;
        _kind = node switch
        {
            YamlMappingNode => Kind.Object,
            YamlSequenceNode => Kind.List,
            YamlScalarNode s => ScalarKind(s),
            _ => Kind.Null,
        };
    }

    /// <summary>
    /// Reads a YAML or JSON file holding one document. With <paramref name="askedKeys"/>, every key a reader of the document
    /// asks a mapping for (present or not) is added to it by its key path, such as <c>stages[0].recipe.lr</c>: the keys a
    /// parser knows, which the spec reference is checked against.
    /// </summary>
    public static SpecNode Load(string path, ISet<string>? askedKeys = null)
    {
        string text;
        try { text = System.IO.File.ReadAllText(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new InvalidInputException(path, "file not found"); }
        return Parse(text, path, askedKeys);
    }

    /// <summary>Reads one YAML or JSON document from <paramref name="text"/>, its errors and origins naming <paramref name="path"/>.</summary>
    public static SpecNode Parse(string text, string path, ISet<string>? askedKeys = null)
    {
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(text));
        try { stream.Load(new Parser(scanner)); }
        catch (YamlException e) { throw new InvalidInputException($"{path}:{e.Start.Line}:{e.Start.Column}", $"malformed YAML: {e.Message.Split('\n')[0]}"); }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way, with no position of its own, on some unclosed flow collections.
            var at = scanner.CurrentPosition;
            throw new InvalidInputException($"{path}:{at.Line}:{at.Column}", "malformed YAML: cannot read on from here (is a '[' or '{' above left open?)");
        }
        if (stream.Documents.Count == 0) throw new InvalidInputException($"{path}:1:1", "the file is empty");
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            throw new InvalidInputException($"{path}:{second.Line}:{second.Column}", "expected one document, found a second");
        }
        return new SpecNode(stream.Documents[0].RootNode, path, "", askedKeys);
    }

    /// <summary>The error about this value: <c>FILE:LINE:COLUMN: KEY.PATH: message</c>.</summary>
    public InvalidInputException Error(string message) => new(Origin, Path == "" ? message : $"{Path}: {message}");

    /// <summary>The error "expected <paramref name="expected"/>, found (this value)".</summary>
    public InvalidInputException Expected(string expected) => Error($"expected {expected}, found {Describe()}");

    /// <summary>A string scalar.</summary>
    public string AsString(string expected = "a string") =>
        _kind == Kind.String ? Scalar : throw Expected(expected);

    /// <summary>One of <paramref name="choices"/>, spelled exactly.</summary>
    public string AsChoice(params IReadOnlyList<string> choices) =>
        _kind == Kind.String && choices.Contains(Scalar) ? Scalar : throw Expected(Alternatives(choices));

    /// <summary>An integer of at least <paramref name="min"/>; <paramref name="expected"/>, if given, words the error.</summary>
    public int AsInt(int min = int.MinValue, string? expected = null) =>
        _kind == Kind.Integer && int.TryParse(Scalar, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) && n >= min
            ? n : throw Expected(expected ?? min switch { 1 => "a positive integer", 0 => "a non-negative integer", int.MinValue => "an integer", _ => $"an integer of at least {min}" });

    /// <summary>
    /// A finite number from <paramref name="min"/> to <paramref name="max"/> (<paramref name="min"/> itself excluded
    /// when <paramref name="aboveMin"/>); <paramref name="expected"/>, if given, words the error.
    /// </summary>
    public double AsNumber(double min = double.NegativeInfinity, double max = double.PositiveInfinity, bool aboveMin = false, string? expected = null)
    {
        if (_kind is Kind.Integer or Kind.Number && double.TryParse(Scalar, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            && (aboveMin ? d > min : d >= min) && d <= max)
            return d;
        throw Expected(expected ?? (min, max, aboveMin) switch
        {
            (0, double.PositiveInfinity, true) => "a positive number",
            (0, double.PositiveInfinity, false) => "a non-negative number",
            (double.NegativeInfinity, double.PositiveInfinity, _) => "a number",
            _ => $"a number in {(aboveMin ? "(" : "[")}{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]",
        });
    }

    /// <summary><c>true</c> or <c>false</c>.</summary>
    public bool AsBool() => _kind == Kind.Bool ? Scalar is "true" or "True" or "TRUE" : throw Expected("true or false");

    /// <summary>A mapping of keys to values.</summary>
    public SpecObject AsObject(string expected = "an object (key: value, ...)") =>
        _kind == Kind.Object ? new SpecObject(this, (YamlMappingNode)_node) : throw Expected(expected);

    /// <summary>The value is a string scalar.</summary>
    public bool IsString => _kind == Kind.String;

    /// <summary>The value is a mapping.</summary>
    public bool IsObject => _kind == Kind.Object;

    /// <summary>The value is null (<c>null</c>, <c>~</c> or nothing).</summary>
    public bool IsNull => _kind == Kind.Null;

    /// <summary>The value is a list.</summary>
    public bool IsList => _kind == Kind.List;

    /// <summary>A list; its items' paths are <c>PATH[i]</c>.</summary>
    public IReadOnlyList<SpecNode> AsList(string expected = "a list") =>
        _kind == Kind.List ? [.. ((YamlSequenceNode)_node).Children.Select((item, i) => new SpecNode(item, File, $"{Path}[{i}]", AskedKeys))] : throw Expected(expected);

    /// <summary>A short rendering for "found ...": a string in quotes, a number as written, a short list or object in JSON.</summary>
    public string Describe()
    {
        var text = _kind switch
        {
            Kind.String => JsonSerializer.Serialize(Scalar),
            Kind.Null => Scalar == "" ? "nothing" : "null",
            Kind.List or Kind.Object => ToJson()!.ToJsonString(),
            _ => Scalar,
        };
        return text.Length <= 60 ? text : _kind switch
        {
            Kind.List => "a list",
            Kind.Object => "an object",
            _ => text[..57] + "...",
        };
    }

    /// <summary>The value as JSON, typed as the getters read it (the config snapshot of a run is this).</summary>
    public JsonNode? ToJson() => _kind switch
    {
        Kind.Null => null,
        Kind.Bool => JsonValue.Create(AsBool()),
        Kind.Integer when long.TryParse(Scalar, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) => JsonValue.Create(l),
        Kind.Integer or Kind.Number => JsonValue.Create(double.Parse(Scalar, NumberStyles.Float, CultureInfo.InvariantCulture)),
        Kind.String => JsonValue.Create(Scalar),
        Kind.List => new JsonArray([.. AsList().Select(item => item.ToJson())]),
        _ => AsObject().ToJson(),
    };

    string Scalar => ((YamlScalarNode)_node).Value ?? "";

    /// <summary>The YAML node itself, for readers that build a document from parts of others (a grid's entries).</summary>
    internal YamlNode Yaml => _node;

    /// <summary>The scalar as written (for a name derived from a value); empty for a list or mapping.</summary>
    internal string Text => _node is YamlScalarNode ? Scalar : "";

    static Kind ScalarKind(YamlScalarNode s)
    {
        if (s.Style is not (ScalarStyle.Plain or ScalarStyle.Any)) return Kind.String;
        var v = s.Value ?? "";
        if (v is "" or "~" or "null" or "Null" or "NULL") return Kind.Null;
        if (v is "true" or "True" or "TRUE" or "false" or "False" or "FALSE") return Kind.Bool;
        // A number too large for a double is left a string rather than rendered as infinity.
        bool finite = double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d);
        if (IntegerSyntax().IsMatch(v) && finite) return Kind.Integer;
        if (NumberSyntax().IsMatch(v) && finite) return Kind.Number;
        return Kind.String;
    }

    internal static string Alternatives(IReadOnlyList<string> choices) =>
        choices.Count == 1 ? choices[0] : $"{string.Join(", ", choices.Take(choices.Count - 1))} or {choices[^1]}";

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntegerSyntax();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex NumberSyntax();
}
