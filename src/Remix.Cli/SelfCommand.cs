using System.Diagnostics;

namespace Remix.Cli;

/// <summary>
/// How to start this same remix as another process (a worker of <c>remix grid local</c>, a task of a Slurm array): the
/// executable it runs as, or <c>dotnet</c> with its assembly when it runs through the dotnet host.
/// </summary>
public static class SelfCommand
{
    /// <summary>The program and the arguments before remix's own, as absolute paths.</summary>
    public static IReadOnlyList<string> Prefix()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this process is unknown");
        // An apphost (artifacts/cli/remix) is the program itself.
        if (Path.GetFileNameWithoutExtension(process) is "remix" or "Remix.Cli") return [process];
        // Else through the dotnet host (dotnet Remix.Cli.dll, dotnet run, or a test host that called in): name this assembly.
        var host = Path.GetFileNameWithoutExtension(process) == "dotnet" ? process
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        return [host, Path.GetFullPath(typeof(SelfCommand).Assembly.Location)];
    }

    /// <summary>A start of this remix with <paramref name="arguments"/>, its output and errors redirected.</summary>
    public static ProcessStartInfo Start(IEnumerable<string> arguments)
    {
        var prefix = Prefix();
        var start = new ProcessStartInfo(prefix[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in prefix.Skip(1).Concat(arguments)) start.ArgumentList.Add(a);
        return start;
    }
}
