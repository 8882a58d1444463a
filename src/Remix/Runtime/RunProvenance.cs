using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Runtime.Intrinsics;
using System.Text.Json.Nodes;
using System.Text.Json;
using Remix.IO;
using Remix.Models.Kernels;
using Remix.Models;
using static TorchSharp.torch;

namespace Remix.Runtime;

/// <summary>
/// What produced a run folder, kept in its <c>provenance.json</c>: one session per invocation that worked on it,
/// each with the Remix build, TorchSharp and libtorch, the machine, threads, device, dtype, kernels, command line and times.
/// </summary>
/// <remarks>
/// A session is written when it begins, with no end (one left that way was killed, or is still running), and again
/// when it is disposed, with its end, wall seconds and outcome: <c>finished</c> once <see cref="Complete()"/> was
/// called, <c>interrupted</c> when its cancellation was requested, <c>failed</c> otherwise. A run that is resumed,
/// perhaps on another machine, appends a session of its own, so every field belongs to a session. The libtorch
/// version is TorchSharp's <c>torch.__version__</c>: the libtorch-cpu (or -cuda) package version TorchSharp was
/// built for and loads its native library from; libtorch itself does not report one through TorchSharp.
/// </remarks>
public sealed class RunProvenance : IDisposable
{
    /// <summary>The file's name in a run folder.</summary>
    public const string FileName = "provenance.json";

    /// <summary>Environment variables that change which instructions .NET or libtorch use, or their threads; recorded when set.</summary>
    public static readonly IReadOnlyList<string> RecordedVariables =
    [
        "DOTNET_EnableAVX512", "DOTNET_EnableAVX512F", "DOTNET_EnableAVX2", "DOTNET_EnableHWIntrinsic", "DOTNET_PreferredVectorBitWidth",
        "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
    ];

    static readonly JsonSerializerOptions Indented = new(JsonOptions.Relaxed) { WriteIndented = true };

    readonly string _path;
    readonly JsonObject _document;
    readonly JsonObject _session;
    readonly long _started;
    readonly CancellationToken _cancellation;
    bool _completed, _ended;

    RunProvenance(string path, JsonObject document, JsonObject session, long started, CancellationToken cancellation)
    {
        _path = path;
        _started = started;
        _document = document;
        _session = session;
        _cancellation = cancellation;
    }

    /// <summary>
    /// Appends a session for this invocation to <paramref name="runDirectory"/>'s provenance.json and writes it.
    /// <paramref name="commandLine"/> defaults to this process's arguments; <paramref name="cancellation"/> tells
    /// an interrupted session from a failed one; <paramref name="kernels"/> is recorded with what it meant on this machine
    /// (<see cref="KernelChoices.Describe"/>); <paramref name="precision"/>, where given, is the training's mode.
    /// </summary>
    public static RunProvenance Begin(string runDirectory, string device, string dtype, IReadOnlyList<string>? commandLine = null,
        CancellationToken cancellation = default, KernelChoice kernels = KernelChoice.Auto, string? precision = null)
    {
        long started = Stopwatch.GetTimestamp();
        var path = Path.Combine(runDirectory, FileName);
        var session = new JsonObject
        {
            ["start"] = Now(),
            ["end"] = null,
            ["wall_seconds"] = null,
            ["outcome"] = null,
            ["command_line"] = new JsonArray([.. (commandLine ?? Environment.GetCommandLineArgs()).Select(a => (JsonNode?)a)]),
            ["working_directory"] = Environment.CurrentDirectory,
            ["device"] = device,
            ["dtype"] = dtype,
            ["kernels"] = KernelChoices.Describe(kernels, onCpu: device.StartsWith("cpu", StringComparison.OrdinalIgnoreCase), float32: dtype is "float32" or "auto"),
        };
        if (precision is not null) session["precision"] = precision;
        foreach (var (key, value) in Describe()) session[key] = value?.DeepClone();
        var sessions = new JsonArray([.. ReadSessions(runDirectory).Select(s => (JsonNode?)s), session]);
        var provenance = new RunProvenance(path, new JsonObject { ["sessions"] = sessions }, session, started, cancellation);
        provenance.Write();
        return provenance;
    }

    /// <summary>Marks the session as finished; disposing it then records that outcome.</summary>
    public void Complete() => _completed = true;

    /// <summary>Marks the session as finished and hands back <paramref name="result"/>, for a <c>return</c> statement.</summary>
    public T Complete<T>(T result)
    {
        _completed = true;
        return result;
    }

    /// <summary>Rewrites provenance.json with this session's end, wall seconds and outcome.</summary>
    public void Dispose()
    {
        if (_ended) return;
        _ended = true;
        _session["end"] = Now();
        _session["wall_seconds"] = Math.Round(Stopwatch.GetElapsedTime(_started).TotalSeconds, 3);
        _session["outcome"] = _completed ? "finished" : _cancellation.IsCancellationRequested ? "interrupted" : "failed";
        Write();
    }

    void Write() => AtomicFile.WriteAllText(_path, _document.ToJsonString(Indented) + "\n");

    static string Now() => DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>The sessions recorded in <paramref name="runDirectory"/>'s provenance.json, oldest first; none when it has no such file.</summary>
    public static IReadOnlyList<JsonObject> ReadSessions(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path)) return [];
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"expected JSON, found malformed text at line {(e.LineNumber ?? 0) + 1}");
        }
        if (root is not JsonObject { } document || document["sessions"] is not JsonArray sessions || sessions.Any(s => s is not JsonObject))
            throw new InvalidInputException(path, $"expected an object with a \"sessions\" array of objects, found {Shape(root)}");
        return [.. sessions.Select(s => s!.DeepClone().AsObject())];
    }

    static string Shape(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject o => o["sessions"] switch
        {
            null => "no \"sessions\"",
            JsonArray => "a session that is not an object",
            var sessions => $"\"sessions\" as {Kind(sessions)}",
        },
        _ => Kind(node),
    };

    static string Kind(JsonNode node) => node.GetValueKind().ToString().ToLowerInvariant();

    /// <summary>
    /// The Remix build and this machine as a session records them: versions, git commit, the TorchSharp backend built
    /// for and loaded, OS, CPU model and the SIMD
    /// instructions .NET uses, TorchSharp's thread count, host name and the environment variables that change them.
    /// </summary>
    public static JsonObject Describe()
    {
        var remix = typeof(RunProvenance).Assembly;
        var torchSharp = typeof(TorchSharp.torch).Assembly;
        return new JsonObject
        {
            ["remix_version"] = remix.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
            ["git_commit"] = Metadata(remix, "RemixGitCommit"),
            ["git_tree"] = Metadata(remix, "RemixGitTree"),
            ["torchsharp_version"] = torchSharp.GetName().Version?.ToString(3) ?? "unknown",
            ["torch_backend"] = TorchBackend.Describe(), // before __version__: it is what first loads the native library
            ["libtorch_version"] = __version__,
            ["dotnet_version"] = RuntimeInformation.FrameworkDescription,
            ["os"] = RuntimeInformation.OSDescription,
            ["os_architecture"] = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
            ["cpu_model"] = CpuModel(),
            ["logical_processors"] = Environment.ProcessorCount,
            ["simd"] = Simd(),
            // What --kernels auto (the default) runs here; a session's own "kernels" says what its run chose.
            ["kernels_auto"] = KernelChoices.Describe(KernelChoice.Auto),
            ["threads"] = get_num_threads(),
            ["host"] = Environment.MachineName,
            ["environment"] = new JsonObject(RecordedVariables.Where(v => Environment.GetEnvironmentVariable(v) is not null)
                .Select(v => KeyValuePair.Create(v, (JsonNode?)Environment.GetEnvironmentVariable(v)))),
        };
    }

    static string Metadata(Assembly assembly, string key) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value ?? "unknown";

    /// <summary>
    /// What the .NET runtime will use, not what the CPU has: <c>DOTNET_EnableAVX512=0</c> turns AVX-512 off on a CPU
    /// that has it. Remix's CPU kernels run at the widest accelerated width, <c>kernel_vector_bits</c> (0: they do not run).
    /// </summary>
    static JsonObject Simd() => new()
    {
        ["kernel_vector_bits"] = Models.Kernels.CpuKernels.VectorBits,
        ["vector128"] = Vector128.IsHardwareAccelerated,
        ["vector256"] = Vector256.IsHardwareAccelerated,
        ["vector512"] = Vector512.IsHardwareAccelerated,
        ["sse42"] = Sse42.IsSupported,
        ["avx"] = Avx.IsSupported,
        ["avx2"] = Avx2.IsSupported,
        ["fma"] = Fma.IsSupported,
        ["avx512f"] = Avx512F.IsSupported,
        ["avx512bw"] = Avx512BW.IsSupported,
        ["advsimd"] = AdvSimd.IsSupported,
    };

    /// <summary>The CPU's name: /proc/cpuinfo's "model name" on Linux, sysctl's brand string on macOS, else "unknown".</summary>
    static string CpuModel()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is var colon and > 0)
                        return line[(colon + 1)..].Trim();
            if (OperatingSystem.IsMacOS())
            {
                using var sysctl = Process.Start(new ProcessStartInfo("sysctl", "-n machdep.cpu.brand_string") { RedirectStandardOutput = true, UseShellExecute = false });
                var brand = sysctl?.StandardOutput.ReadToEnd().Trim();
                if (sysctl is not null && sysctl.WaitForExit(5000) && sysctl.ExitCode == 0 && !string.IsNullOrEmpty(brand)) return brand;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            // A machine that does not say is recorded as unknown.
        }
        return "unknown";
    }
}
