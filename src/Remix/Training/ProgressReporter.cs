namespace Remix.Training;

/// <summary>
/// Shows step, loss, learning rate, tokens/s and ETA: one line rewritten in place on a terminal,
/// plain lines every few steps (or 10 seconds) when output goes to a file or pipe.
/// </summary>
public sealed class ProgressReporter(TextWriter output, bool isTerminal, int logEvery = 10)
{
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    TimeSpan _lastPrint = TimeSpan.FromDays(-1);
    int _firstStep, _lastStep = int.MaxValue, _lastTotal; // int.MaxValue: the first step starts a run
    TimeSpan _runStart;

    /// <summary>A reporter for the console, plain when stderr is redirected.</summary>
    public static ProgressReporter ForConsole(int logEvery = 10) => For(Console.Error, logEvery);

    /// <summary>A reporter writing to <paramref name="error"/>: in place only when that is the console's stderr on a terminal.</summary>
    public static ProgressReporter For(TextWriter error, int logEvery = 10) =>
        new(error, ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected, logEvery);

    public void Step(int step, int totalSteps, int epoch, double loss, double lr, double tokensPerSecond)
    {
        var elapsed = _clock.Elapsed;
        if (step <= _lastStep || totalSteps != _lastTotal) // a new training run (the next stage, seed or a resumed run): time it on its own
            (_firstStep, _runStart) = (step - 1, elapsed);
        (_lastStep, _lastTotal) = (step, totalSteps);
        double perStep = (elapsed - _runStart).TotalSeconds / Math.Max(1, step - _firstStep);
        var eta = TimeSpan.FromSeconds(perStep * Math.Max(0, totalSteps - step));
        var line = $"step {step}/{totalSteps}  epoch {epoch + 1}  loss {loss:F4}  lr {lr:E2}  {tokensPerSecond:N0} tok/s  ETA {eta:hh\\:mm\\:ss}";
        if (isTerminal)
        {
            if (elapsed - _lastPrint < TimeSpan.FromMilliseconds(200) && step != totalSteps) return;
            output.Write("\r" + line.PadRight(100));
        }
        else
        {
            if (step % logEvery != 0 && step != totalSteps && elapsed - _lastPrint < TimeSpan.FromSeconds(10)) return;
            output.WriteLine(line);
        }
        _lastPrint = elapsed;
    }

    /// <summary>A message on its own line (evaluations, checkpoints, the end).</summary>
    public void Message(string text)
    {
        if (isTerminal) output.Write("\r" + new string(' ', 100) + "\r");
        output.WriteLine(text);
    }
}
