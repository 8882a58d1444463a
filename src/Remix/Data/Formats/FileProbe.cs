using System.Text;
using System.Text.Json;

namespace Remix.Data.Formats;

/// <summary>What format detection looks at: the extension, the first record's keys, a TSV header.</summary>
public sealed class FileProbe
{
    public required string Path { get; init; }
    public required string Extension { get; init; }
    public bool IsDirectory { get; init; }
    /// <summary>The top level is a JSON list (.json) / a JSON object (.json).</summary>
    public bool JsonList { get; init; }
    public bool JsonObject { get; init; }
    /// <summary>The keys of the first record: the first JSONL line, the first list item, or the top-level object.</summary>
    public IReadOnlySet<string> Keys { get; init; } = new HashSet<string>();
    /// <summary>The first line split on tabs (for .tsv files).</summary>
    public IReadOnlyList<string> TsvHeader { get; init; } = [];
    /// <summary>The first record's value of each key, as raw JSON text (for checks such as GSM8K's "####").</summary>
    public IReadOnlyDictionary<string, string> RawValues { get; init; } = new Dictionary<string, string>();

    const int ProbeBytes = 4 << 20;

    public bool Has(params string[] keys) => keys.All(Keys.Contains);

    /// <summary>Reads enough of a file (or looks at a directory) to tell its format.</summary>
    public static FileProbe Of(string path)
    {
        if (Directory.Exists(path)) return new FileProbe { Path = path, Extension = "", IsDirectory = true };
        var extension = System.IO.Path.GetExtension(path).ToLowerInvariant();
        if (extension == ".gz") throw new InvalidInputException(path, "compressed files are not read; decompress it first");
        byte[] head;
        using (var stream = Utf8Lines.OpenRead(path))
        {
            head = new byte[Math.Min(stream.Length, ProbeBytes)];
            stream.ReadExactly(head);
        }
        if (extension is ".parquet" or ".txt" or ".text" or ".md") return new FileProbe { Path = path, Extension = extension };
        var text = Encoding.UTF8.GetString(head).TrimStart('\uFEFF');
        if (extension == ".tsv")
            return new FileProbe { Path = path, Extension = extension, TsvHeader = text.Split('\n')[0].TrimEnd('\r').Split('\t') };

        try { return OfJson(path, extension, head, text); }
        catch (InvalidOperationException) // invalid UTF-8 in the first record: the reader names the line
        {
            return new FileProbe { Path = path, Extension = extension, JsonList = text.TrimStart().StartsWith('[') };
        }
    }

    static FileProbe OfJson(string path, string extension, byte[] head, string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('['))
        {
            var first = FirstListItem(head);
            return new FileProbe { Path = path, Extension = extension, JsonList = true, Keys = KeysOf(first), RawValues = RawOf(first) };
        }
        var firstLine = trimmed.Split('\n')[0].Trim();
        var lineObject = TryParse(firstLine);
        if (lineObject is { ValueKind: JsonValueKind.Object } o && trimmed.Length > firstLine.Length && trimmed[firstLine.Length..].TrimStart().StartsWith('{'))
            return new FileProbe { Path = path, Extension = extension, Keys = KeysOf(o), RawValues = RawOf(o) }; // JSON Lines
        if (lineObject is { ValueKind: JsonValueKind.Object } single && trimmed.Trim() == firstLine)
            return new FileProbe { Path = path, Extension = extension, Keys = KeysOf(single), RawValues = RawOf(single), JsonObject = extension == ".json" };
        if (trimmed.StartsWith('{') && extension == ".json")
        {
            var whole = TopLevelKeys(head);
            return new FileProbe { Path = path, Extension = extension, JsonObject = true, Keys = whole };
        }
        return new FileProbe { Path = path, Extension = extension };
    }

    static JsonElement? TryParse(string json)
    {
        try { using var doc = JsonDocument.Parse(json); return doc.RootElement.Clone(); }
        catch (JsonException) { return null; }
    }

    static JsonElement? FirstListItem(byte[] head)
    {
        var reader = new Utf8JsonReader(head, isFinalBlock: false, default);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray || !reader.Read()) return null;
            return JsonDocument.TryParseValue(ref reader, out var doc) ? doc!.RootElement.Clone() : null;
        }
        catch (JsonException) { return null; }
    }

    static HashSet<string> TopLevelKeys(byte[] head)
    {
        var keys = new HashSet<string>();
        var reader = new Utf8JsonReader(head, isFinalBlock: false, default);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return keys;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                keys.Add(reader.GetString()!);
                if (!reader.Read() || !reader.TrySkip()) break;
            }
        }
        catch (JsonException) { }
        return keys;
    }

    static HashSet<string> KeysOf(JsonElement? e) =>
        e is { ValueKind: JsonValueKind.Object } o ? o.EnumerateObject().Select(p => p.Name).ToHashSet() : [];

    static Dictionary<string, string> RawOf(JsonElement? e) =>
        e is { ValueKind: JsonValueKind.Object } o ? o.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText()) : [];
}
