using System.Text.Json;

namespace Remix.IO;

/// <summary>Shared serializer settings (a settings object caches metadata, so it is made once).</summary>
public static class JsonOptions
{
    /// <summary>Non-ASCII text written as is rather than as \u escapes, one line per document.</summary>
    public static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
