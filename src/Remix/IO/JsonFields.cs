using System.Text.Json;

namespace Remix.IO;

/// <summary>
/// Typed reads of fields from a JSON object that fail with one line naming the file, the field,
/// what was expected and what was found.
/// </summary>
internal readonly struct JsonFields
{
    readonly JsonElement _object;

    /// <summary>The file the object came from, used in error messages.</summary>
    public string File { get; }

    /// <summary>The path of this object inside the file, such as <c>rope_scaling</c>; empty at the top level.</summary>
    public string Prefix { get; }

    public JsonFields(JsonElement obj, string file, string prefix = "")
    {
        if (obj.ValueKind != JsonValueKind.Object)
            throw new InvalidInputException(file, $"{(prefix == "" ? "top level" : $"field '{prefix}'")}: expected a JSON object, found {Describe(obj)}");
        _object = obj;
        File = file;
        Prefix = prefix;
    }

    /// <summary>Parses a whole JSON file whose top level must be an object.</summary>
    public static JsonDocument ParseFile(string path)
    {
        byte[] bytes;
        try { bytes = System.IO.File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new InvalidInputException(path, "file not found"); }
        catch (DirectoryNotFoundException) { throw new InvalidInputException(path, "file not found"); }
        return ParseBytes(bytes, path);
    }

    /// <summary>Parses JSON text whose top level must be an object.</summary>
    public static JsonDocument ParseBytes(ReadOnlyMemory<byte> bytes, string origin)
    {
        try
        {
            var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 256 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidInputException(origin, $"expected a JSON object at the top level, found {Describe(doc.RootElement)}");
            return doc;
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(origin, $"malformed JSON at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}: {FirstLine(e.Message)}");
        }
    }

    public string Name(string field) => Prefix == "" ? field : $"{Prefix}.{field}";

    public bool Has(string field) => _object.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement? Raw(string field) =>
        _object.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public InvalidInputException Error(string field, string expected, JsonElement? found) =>
        new(File, $"field '{Name(field)}': expected {expected}, found {(found is { } f ? Describe(f) : "nothing")}");

    public int RequiredInt(string field, int min = int.MinValue) =>
        OptionalInt(field, min) ?? throw Error(field, IntExpectation(min), null);

    public int? OptionalInt(string field, int min = int.MinValue)
    {
        if (Raw(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n) || n < min) throw Error(field, IntExpectation(min), v);
        return n;
    }

    public double? OptionalDouble(string field, bool positive = false)
    {
        if (Raw(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d) || (positive && d <= 0))
            throw Error(field, positive ? "a positive number" : "a number", v);
        return d;
    }

    public bool? OptionalBool(string field)
    {
        if (Raw(field) is not { } v) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(field, "true or false", v),
        };
    }

    public string? OptionalString(string field)
    {
        if (Raw(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.String) throw Error(field, "a string", v);
        return v.GetString();
    }

    /// <summary>An integer or a list of integers (as <c>eos_token_id</c> may be).</summary>
    public int[]? OptionalIntOrList(string field, int min = 0)
    {
        if (Raw(field) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int one) && one >= min) return [one];
        if (v.ValueKind != JsonValueKind.Array) throw Error(field, "an integer or a list of integers", v);
        var list = new List<int>();
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int n) || n < min)
                throw Error(field, "an integer or a list of integers", v);
            list.Add(n);
        }
        return [.. list];
    }

    public JsonFields? OptionalObject(string field)
    {
        if (Raw(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Error(field, "a JSON object", v);
        return new JsonFields(v, File, Name(field));
    }

    static string IntExpectation(int min) => min switch
    {
        1 => "a positive integer",
        0 => "a non-negative integer",
        _ => "an integer",
    };

    /// <summary>A short rendering of a JSON value for error messages.</summary>
    public static string Describe(JsonElement v)
    {
        var text = v.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "a list",
            JsonValueKind.String => JsonSerializer.Serialize(v.GetString()),
            _ => v.GetRawText(),
        };
        return text.Length > 60 ? text[..57] + "..." : text;
    }

    static string FirstLine(string s)
    {
        int i = s.IndexOfAny(['\r', '\n']);
        return i < 0 ? s : s[..i];
    }
}
