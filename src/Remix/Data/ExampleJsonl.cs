using System.Text;
using System.Text.Json;
using Remix.IO;

namespace Remix.Data;

/// <summary>Writes examples as Remix JSON Lines (the <c>remix</c> format), atomically.</summary>
public static class ExampleJsonl
{
    public static void Write(string path, IEnumerable<Example> examples) => AtomicFile.Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        foreach (var e in examples) writer.WriteLine(ToJson(e));
    });

    /// <summary>One example as a single JSON line.</summary>
    public static string ToJson(Example e)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("id", e.Id);
            w.WriteString("source", e.Source);
            w.WriteString("kind", ExampleKinds.Name(e.Kind));
            if (e.Kind == ExampleKind.Document) w.WriteString("text", e.Text);
            else
            {
                w.WriteStartArray("messages");
                foreach (var t in e.Turns)
                {
                    w.WriteStartObject();
                    w.WriteString("role", t.Role == ChatRole.User ? "user" : "assistant");
                    w.WriteString("content", t.Content);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            if (e.Answers.Count > 0)
            {
                w.WriteStartArray("answers");
                foreach (var a in e.Answers) w.WriteStringValue(a);
                w.WriteEndArray();
            }
            if (e.Match == AnswerMatch.PredictionInGold) w.WriteString("match", "prediction-in-gold");
            if (e.Subject is not null) w.WriteString("subject", e.Subject);
            if (e.Relation is not null) w.WriteString("relation", e.Relation);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
