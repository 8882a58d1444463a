using System.Text.Json;

namespace Remix.Data;

/// <summary>
/// The items of a JSON array file (or of an array held by one top-level property), each with the
/// line it starts on, so that errors can name it.
/// </summary>
internal static class JsonItems
{
    /// <summary>Items of the top-level array, or of <paramref name="property"/>'s array when the top level is an object.</summary>
    public static List<(int Line, JsonElement Item)> Read(byte[] json, string path, string? property = null)
    {
        var items = new List<(int, JsonElement)>();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 256 });
        int line = 1;
        long counted = 0;
        int Line(long position)
        {
            line += json.AsSpan((int)counted, (int)(position - counted)).Count((byte)'\n');
            counted = position;
            return line;
        }
        try
        {
            if (!reader.Read()) throw new InvalidInputException(path, "the file is empty");
            if (property is not null)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                    throw new InvalidInputException(path, $"expected a JSON object with a '{property}' list at the top level");
                bool found = false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals(property)) { reader.Read(); found = true; break; }
                    reader.Read();
                    reader.Skip();
                }
                if (!found) throw new InvalidInputException(path, $"field '{property}': expected a list, found nothing");
            }
            if (reader.TokenType != JsonTokenType.StartArray)
                throw new InvalidInputException(path, property is null ? "expected a JSON list at the top level" : $"field '{property}': expected a list");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                int itemLine = Line(reader.TokenStartIndex);
                using var doc = JsonDocument.ParseValue(ref reader);
                items.Add((itemLine, doc.RootElement.Clone()));
            }
            return items;
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"line {(e.LineNumber ?? 0) + 1}: malformed JSON: {e.Message.Split('\n')[0]}");
        }
    }
}
