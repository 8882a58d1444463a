namespace Remix.Cli;

/// <summary>Turns Ctrl+C into a cancellation request for the duration of a long command (training saves a checkpoint and stops).</summary>
public sealed class CtrlC : IDisposable
{
    readonly CancellationTokenSource _source = new();
    readonly ConsoleCancelEventHandler _handler;

    public CtrlC()
    {
        _handler = (_, e) =>
        {
            e.Cancel = true;
            _source.Cancel();
        };
        Console.CancelKeyPress += _handler;
    }

    public CancellationToken Token => _source.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= _handler;
        _source.Dispose();
    }
}
