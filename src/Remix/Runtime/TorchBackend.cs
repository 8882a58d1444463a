using System.Reflection;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Remix.Runtime;

/// <summary>
/// Which TorchSharp native backend this Remix was built against (<c>-p:TorchBackend=cpu|cuda</c>) and which one the
/// process has loaded, for provenance.json, <c>remix info</c> and <c>remix model info</c>.
/// </summary>
public static class TorchBackend
{
    /// <summary>The MSBuild <c>TorchBackend</c> the library was built with: <c>cpu</c> or <c>cuda</c> (<c>unknown</c> if not recorded).</summary>
    public static string Built { get; } =
        typeof(TorchBackend).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RemixTorchBackend")?.Value?.ToLowerInvariant()
        ?? "unknown";

    /// <summary>
    /// The build's backend, the loaded one, whether CUDA is available and how many devices it sees. The loaded backend
    /// is <c>cuda</c> when TorchSharp's CUDA backend loaded and sees a device, else <c>cpu</c> (a CUDA build on a machine
    /// without a GPU runs on its CPU part).
    /// </summary>
    public static JsonObject Describe()
    {
        GlibcxxCompat.ThrowIfTurnedOffWhereNeeded();
        bool available = cuda.is_available();
        return new JsonObject
        {
            ["built"] = Built,
            ["loaded"] = available ? "cuda" : "cpu",
            ["cuda_available"] = available,
            ["cuda_devices"] = available ? cuda.device_count() : 0,
        };
    }

    /// <summary>One line for a person: <c>cpu (built for cpu)</c>, <c>cuda, 2 devices (built for cuda)</c>.</summary>
    public static string Summary(JsonObject described) =>
        described["loaded"]!.GetValue<string>() == "cuda"
            ? $"cuda, {described["cuda_devices"]} device(s) (built for {described["built"]})"
            : $"cpu (built for {described["built"]}{(described["built"]!.GetValue<string>() == "cuda" ? "; CUDA is not available on this machine" : "")})";
}
