using System.Text.Json;
using Remix.IO;

namespace Remix.Data.Formats;

/// <summary>Row readers and field helpers the formats share.</summary>
internal static class Rows
{
    /// <summary>One row per non-empty line of a JSON Lines file; a malformed line fails only its own row.</summary>
    public static IEnumerable<DatasetRow> JsonLines(string path, Func<JsonFields, int, RowOutcome> parse)
    {
        foreach (var (line, text) in Utf8Lines.Read(path))
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            yield return new DatasetRow(line, () =>
            {
                JsonDocument doc;
                try { doc = JsonDocument.Parse(text); }
                catch (JsonException e) { throw new InvalidInputException(path, $"line {line}: malformed JSON: {e.Message.Split('\n')[0]}"); }
                using (doc) return parse(Fields(doc.RootElement, path, line), line);
            });
        }
    }

    /// <summary>One row per item of a JSON list file (or of the list in <paramref name="property"/>).</summary>
    public static IEnumerable<DatasetRow> JsonList(string path, Func<JsonFields, int, RowOutcome> parse, string? property = null)
    {
        var bytes = Utf8Lines.ReadAllValidated(path);
        foreach (var (line, item) in JsonItems.Read(bytes, path, property))
            yield return new DatasetRow(line, () => parse(Fields(item, path, line), line));
    }

    /// <summary>Rows of a JSON list, JSON Lines, or single-object file, whichever the file is.</summary>
    public static IEnumerable<DatasetRow> AnyJson(FileProbe probe, Func<JsonFields, int, RowOutcome> parse)
    {
        if (probe.JsonList) return JsonList(probe.Path, parse);
        if (probe.JsonObject) return SingleObject(probe.Path, parse);
        return JsonLines(probe.Path, parse);
    }

    static IEnumerable<DatasetRow> SingleObject(string path, Func<JsonFields, int, RowOutcome> parse)
    {
        var bytes = Utf8Lines.ReadAllValidated(path);
        using var doc = JsonFields.ParseBytes(bytes, path);
        var root = doc.RootElement.Clone();
        yield return new DatasetRow(1, () => parse(Fields(root, path, 1), 1));
    }

    public static JsonFields Fields(JsonElement element, string path, int line)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new InvalidInputException(path, $"line {line}: expected a JSON object, found {JsonFields.Describe(element)}");
        return new JsonFields(element, $"{path}: line {line}");
    }

    public static string RequiredText(JsonFields f, string field)
    {
        var text = f.OptionalString(field);
        if (string.IsNullOrWhiteSpace(text)) throw f.Error(field, "a non-empty string", f.Raw(field));
        return text;
    }

    /// <summary>
    /// A list of strings, also when stored as a string holding a JSON list (PopQA's
    /// <c>possible_answers</c>) or a Python list literal with single quotes.
    /// </summary>
    public static List<string> StringList(JsonFields f, string field, bool required = true)
    {
        var raw = f.Raw(field);
        if (raw is null)
        {
            if (required) throw f.Error(field, "a list of strings", null);
            return [];
        }
        var list = raw.Value.ValueKind switch
        {
            JsonValueKind.Array => FromArray(raw.Value),
            JsonValueKind.String => ParseListText(raw.Value.GetString()!),
            _ => null,
        };
        if (list is null || (required && list.Count == 0)) throw f.Error(field, "a non-empty list of strings", raw);
        return list;
    }

    static List<string>? FromArray(JsonElement array)
    {
        var list = new List<string>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String) list.Add(item.GetString()!);
            else if (item.ValueKind == JsonValueKind.Number) list.Add(item.GetRawText());
            else return null;
        }
        return list;
    }

    /// <summary>Parses <c>["a", "b"]</c> or <c>['a', "b's"]</c>; null if it is neither.</summary>
    public static List<string>? ParseListText(string text)
    {
        var t = text.Trim();
        if (!t.StartsWith('[')) return null;
        try
        {
            using var doc = JsonDocument.Parse(t);
            return FromArray(doc.RootElement);
        }
        catch (JsonException) { }
        return PythonStringList(t);
    }

    static List<string>? PythonStringList(string t)
    {
        var list = new List<string>();
        int i = 1;
        while (true)
        {
            while (i < t.Length && (char.IsWhiteSpace(t[i]) || t[i] == ',')) i++;
            if (i >= t.Length) return null;
            if (t[i] == ']') return list;
            char quote = t[i];
            if (quote != '\'' && quote != '"') return null;
            var sb = new System.Text.StringBuilder();
            i++;
            while (i < t.Length && t[i] != quote)
            {
                if (t[i] == '\\' && i + 1 < t.Length) i++;
                sb.Append(t[i++]);
            }
            if (i >= t.Length) return null;
            list.Add(sb.ToString());
            i++;
        }
    }

    /// <summary>"line-N" identifiers for formats without ids.</summary>
    public static string LineId(string path, int line) => $"{Path.GetFileNameWithoutExtension(path)}-{line}";
}
