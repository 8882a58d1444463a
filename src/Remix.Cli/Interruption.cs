using System.Runtime.InteropServices;

namespace Remix.Cli;

/// <summary>
/// Turns Ctrl+C (SIGINT), SIGTERM and SIGUSR1 — what a terminal, Slurm and Kubernetes send before they stop or preempt a
/// job — into a cancellation request for the duration of a long command: training saves a checkpoint and stops, and the
/// command ends with one line and exit code 128 + the signal's number. A second signal ends the process at once.
/// </summary>
public sealed class Interruption : IDisposable
{
    readonly CancellationTokenSource _source = new();
    readonly List<PosixSignalRegistration> _registrations = [];
    string? _signal;
    int _number;

    /// <param name="asWorker">
    /// As a worker of <c>remix grid local</c>: ignore SIGINT (a terminal's Ctrl+C reaches the whole process group, and the
    /// pool, which gets it too, stops each worker with one SIGTERM), and take a repeated signal as the same request (a
    /// SIGTERM to the whole group arrives twice, from outside and from the pool; a second one must not end the worker
    /// in its checkpoint). SIGKILL still ends a worker that does not stop.
    /// </param>
    public Interruption(bool asWorker = false)
    {
        foreach (var (signal, name, number) in Signals())
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                if (asWorker && signal == PosixSignal.SIGINT)
                {
                    context.Cancel = true;
                    return;
                }
                // The first signal asks for a clean stop; a second one gets the default action (the process ends), but a worker's.
                if (Interlocked.CompareExchange(ref _signal, name, null) is not null)
                {
                    if (asWorker) context.Cancel = true;
                    return;
                }
                _number = number;
                context.Cancel = true;
                _source.Cancel();
            }));
    }

    /// <summary>Cancelled once a signal has arrived.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Whether a signal has arrived.</summary>
    public bool Requested => _signal is not null;

    /// <summary>
    /// Writes the one line that ends an interrupted command (<paramref name="where"/>: where it stopped and how to
    /// continue) and returns the exit code: 130 for Ctrl+C, 143 for SIGTERM, 128 + 10 (Linux) for SIGUSR1.
    /// </summary>
    public int Stopped(TextWriter error, string where)
    {
        error.WriteLine($"remix: interrupted by {_signal ?? "a cancellation"} {where}");
        return 128 + (_number > 0 ? _number : 2);
    }

    /// <summary>The line that ends an interrupted training (<c>remix train</c>, <c>remix pretrain</c>): its step and checkpoint.</summary>
    public int StoppedTraining(TextWriter error, string outDir, int step) =>
        Stopped(error, $"at step {step}; checkpoint saved in {Training.TrainingCheckpoint.Directory(outDir, step)}; continue with --resume");

    /// <summary>Says that <c>--resume</c> found nothing to continue in <paramref name="outDir"/>, so training starts from scratch.</summary>
    public static void SayIfNothingToResume(TextWriter error, string outDir, bool resume)
    {
        if (resume && !Training.TrainingCheckpoint.CanResume(outDir))
            error.WriteLine($"remix: nothing to resume in {outDir} (no checkpoint): starting from scratch");
    }

    static IEnumerable<(PosixSignal Signal, string Name, int Number)> Signals()
    {
        yield return (PosixSignal.SIGINT, "SIGINT", 2);
        yield return (PosixSignal.SIGTERM, "SIGTERM", 15);
        // PosixSignal names only the portable signals; others are given by their raw number on this platform.
        if (OperatingSystem.IsLinux()) yield return ((PosixSignal)10, "SIGUSR1", 10);
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()) yield return ((PosixSignal)30, "SIGUSR1", 30);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _source.Dispose();
    }
}
