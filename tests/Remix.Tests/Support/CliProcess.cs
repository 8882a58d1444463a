using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Remix.Tests.Support;

/// <summary>
/// The remix command line as a process of its own (the build next to the tests), for what only a real process shows:
/// how it answers a signal.
/// </summary>
public sealed class CliProcess : IDisposable
{
    readonly Process _process;
    readonly Task<string> _stdout, _stderr;

    public CliProcess(params string[] args) : this(new Dictionary<string, string?>(), args) { }

    /// <summary>Starts remix with <paramref name="environment"/> changed: a null value unsets the variable.</summary>
    public CliProcess(IReadOnlyDictionary<string, string?> environment, params string[] args) : this(AppContext.BaseDirectory, environment, args) { }

    /// <summary>Starts the Remix.Cli.dll in <paramref name="appDirectory"/> (a copy of the build, say) with <paramref name="environment"/> changed.</summary>
    public CliProcess(string appDirectory, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(appDirectory, "Remix.Cli.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment)
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        _process = Process.Start(start)!;
        _stdout = _process.StandardOutput.ReadToEndAsync();
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    /// <summary>Runs to the end.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var p = new CliProcess(args);
        return p.Wait();
    }

    /// <summary>Runs to the end with <paramref name="environment"/> changed (a null value unsets the variable).</summary>
    public static (int Code, string Out, string Err) Run(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        using var p = new CliProcess(environment, args);
        return p.Wait();
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Sends a signal (2 SIGINT, 15 SIGTERM, 10 SIGUSR1 on Linux).</summary>
    public void Signal(int number)
    {
        if (Kill(_process.Id, number) != 0) throw new InvalidOperationException($"kill({_process.Id}, {number}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Waits (at most two minutes) for the process to end.</summary>
    public (int Code, string Out, string Err) Wait()
    {
        if (!_process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException("remix did not end within two minutes");
        }
        return (_process.ExitCode, _stdout.Result, _stderr.Result);
    }

    /// <summary>Waits until <paramref name="ready"/> holds, polling; false if the process ended first.</summary>
    public bool WaitUntil(Func<bool> ready)
    {
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            if (_process.HasExited || clock.Elapsed > TimeSpan.FromMinutes(2)) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
