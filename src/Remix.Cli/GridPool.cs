using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Remix.Experiments;

namespace Remix.Cli;

/// <summary>
/// <c>remix grid local</c>: every pending entry of a plan folder run by a pool of worker processes, each
/// <c>remix grid run DIR --index I</c> with its output in <c>DIR/logs/entry-I.log</c>, with live progress; at the end, one
/// line per entry that did not finish.
/// </summary>
/// <remarks>
/// Workers are processes, not threads: an entry's run holds the process's torch threads and signal handlers, and a worker
/// that dies (killed, out of memory) leaves the others and its entry's lock and checkpoints as they were, so that the
/// next run resumes it. Workers ignore SIGINT; the pool stops them with one SIGTERM each when it is interrupted.
/// </remarks>
public sealed class GridPool(string directory, int jobs, int threadsPerWorker, TextWriter output, TextWriter error)
{
    readonly bool _terminal = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly List<TimeSpan> _durations = [];
    TimeSpan _lastLine = TimeSpan.FromDays(-1);

    /// <summary>Runs the pending entries until none is left or <paramref name="stop"/> is cancelled; returns the exit code.</summary>
    public int Run(CancellationToken stop, Func<int> stopped)
    {
        var all = GridStatus.Read(directory);
        var pending = all.Where(e => e.State == EntryState.Pending).ToList();
        int done = all.Count(e => e.State == EntryState.Done), failedBefore = all.Count(e => e.State == EntryState.Failed);
        int elsewhere = all.Count(e => e.State == EntryState.Running);
        output.WriteLine($"{directory}: {all.Count} entries: {done} done, {pending.Count} pending, {elsewhere} running elsewhere, {failedBefore} failed"
            + (failedBefore > 0 ? $" (left alone: remix grid retry {directory} puts them back)" : ""));
        if (pending.Count > 0)
            output.WriteLine($"running {pending.Count} with {Math.Min(jobs, pending.Count)} worker{(Math.Min(jobs, pending.Count) == 1 ? "" : "s")} of {threadsPerWorker} thread{(threadsPerWorker == 1 ? "" : "s")}; logs in {Path.Combine(directory, GridStatus.LogsDirectoryName)}");
        Directory.CreateDirectory(Path.Combine(directory, GridStatus.LogsDirectoryName));

        var queue = new Queue<EntryStatus>(pending);
        var workers = new List<Worker>();
        var unfinished = new List<(EntryStatus Entry, string Why)>();
        bool stopping = false;
        int finished = 0, failed = 0;
        // Over the whole grid, as remix grid status counts: what was done or failed before this run too, and what runs elsewhere.
        string Counts() => $"{done + finished} done, {workers.Count + elsewhere} running, {failedBefore + failed} failed, {queue.Count} pending";
        while (queue.Count > 0 || workers.Count > 0)
        {
            while (!stopping && workers.Count < jobs && queue.Count > 0)
            {
                var entry = queue.Dequeue();
                workers.Add(Worker.Start(directory, entry, threadsPerWorker));
                Say($"entry {entry.Index} ({entry.Id}): started", Counts());
            }
            var exits = workers.Select(w => w.Exited).Append(Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None)).ToArray();
            try
            {
                Task.WaitAny(exits, stop);
            }
            catch (OperationCanceledException)
            {
                // Stop below.
            }
            if (stop.IsCancellationRequested && !stopping)
            {
                stopping = true;
                foreach (var w in workers) w.Terminate();
                Say($"stopping: each of {workers.Count} running worker{(workers.Count == 1 ? "" : "s")} saves a checkpoint; {queue.Count} not started", Counts());
                queue.Clear();
            }
            foreach (var w in workers.Where(w => w.Exited.IsCompleted).ToList())
            {
                workers.Remove(w);
                var (state, line) = w.Outcome();
                if (state == EntryState.Done)
                {
                    finished++;
                    _durations.Add(w.Elapsed);
                }
                else
                {
                    if (state == EntryState.Failed) failed++;
                    unfinished.Add((w.Entry, line));
                }
                Say($"entry {w.Entry.Index} ({w.Entry.Id}): {line}", Counts());
                w.Dispose();
            }
            if (workers.Count > 0) Progress(Counts(), queue.Count, workers);
        }
        if (_terminal) error.Write("\r" + new string(' ', Width()) + "\r");

        var now = GridStatus.Read(directory);
        // Failed before this run, or running elsewhere: the grid is not finished while any entry is not done.
        var listed = unfinished.Select(u => u.Entry.Id).ToHashSet();
        unfinished.AddRange(now.Where(e => e.State != EntryState.Done && !listed.Contains(e.Id)).Select(e => (e, e.State switch
        {
            EntryState.Running => $"running elsewhere ({e.Detail})",
            _ => e.Detail is { } d ? $"{GridStatus.Describe(e.State)}: {d}" : GridStatus.Describe(e.State),
        })));
        int doneNow = now.Count(e => e.State == EntryState.Done);
        output.WriteLine($"{doneNow} of {now.Count} entries done in {directory} ({finished} by this run, in {Format(_clock.Elapsed)})");
        if (stopping) return stopped();
        if (unfinished.Count == 0)
        {
            // Finished: its report (as remix report DIR writes it) and its page, beside runs.jsonl.
            var report = Remix.Reporting.GridReport.Build(directory, directory, Path.Combine(directory, Remix.Reporting.HtmlReport.FileName));
            output.WriteLine($"report: {report.TablePath}, {report.CsvPath}; page: {report.HtmlPath}");
            return 0;
        }
        error.WriteLine($"remix: {unfinished.Count} entr{(unfinished.Count == 1 ? "y" : "ies")} did not finish:");
        foreach (var (entry, why) in unfinished.OrderBy(u => u.Entry.Index)) error.WriteLine($"  {entry.Id} (entry {entry.Index}): {why}");
        return 1;
    }

    /// <summary>An event (an entry started or ended) with the counts after it: one line each, above the live line on a terminal.</summary>
    void Say(string what, string counts)
    {
        if (_terminal) error.Write("\r" + new string(' ', Width()) + "\r");
        error.WriteLine($"grid: {what}  [{counts}]");
        _lastLine = _clock.Elapsed;
    }

    /// <summary>The counts, the ETA and what each worker is at: redrawn each second on a terminal, a line every 30 s otherwise.</summary>
    void Progress(string counts, int queued, IReadOnlyList<Worker> workers)
    {
        var line = $"grid: {counts}  ETA {Eta(queued, workers)}  | "
            + string.Join(" | ", workers.Select(w => $"{w.Entry.Index}: {w.LastProgress ?? "starting"}"));
        if (_terminal)
        {
            int width = Width();
            error.Write("\r" + (line.Length > width ? line[..width] : line.PadRight(width)));
        }
        else if (_clock.Elapsed - _lastLine >= TimeSpan.FromSeconds(30))
        {
            error.WriteLine(line);
            _lastLine = _clock.Elapsed;
        }
    }

    /// <summary>The terminal's width less one (a full line would wrap), or 120 where it does not say.</summary>
    static int Width()
    {
        try
        {
            return Console.WindowWidth is > 20 and var w ? w - 1 : 120;
        }
        catch (IOException)
        {
            return 120;
        }
    }

    /// <summary>From the entries this run finished: their mean time for each queued one and the rest of each running one, over the workers.</summary>
    string Eta(int queued, IReadOnlyList<Worker> workers)
    {
        if (_durations.Count == 0) return "–";
        double mean = _durations.Average(d => d.TotalSeconds);
        double left = queued * mean + workers.Sum(w => Math.Max(0, mean - w.Elapsed.TotalSeconds));
        return Format(TimeSpan.FromSeconds(left / Math.Max(1, Math.Min(jobs, queued + workers.Count))));
    }

    static string Format(TimeSpan t) => t.ToString(t.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture);

    /// <summary>One worker process and what it said: its log, its last error line and its last progress line.</summary>
    sealed class Worker : IDisposable
    {
        readonly Process _process;
        readonly StreamWriter _log;
        readonly Stopwatch _clock = Stopwatch.StartNew();
        readonly string _directory;
        string? _lastError;

        Worker(string directory, EntryStatus entry, Process process, StreamWriter log)
        {
            (_directory, Entry, _process, _log) = (directory, entry, process, log);
        }

        public EntryStatus Entry { get; }
        public Task Exited { get; private set; } = Task.CompletedTask;
        public TimeSpan Elapsed => _clock.Elapsed;
        public string? LastProgress { get; private set; }

        public static Worker Start(string directory, EntryStatus entry, int threads)
        {
            var log = new StreamWriter(new FileStream(GridStatus.LogPath(directory, entry.Index), FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
            log.WriteLine($"== remix grid local: entry {entry.Index} ({entry.Id}) started {DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture)}");
            var start = SelfCommand.Start(["grid", "run", directory, "--index", entry.Index.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture), "--worker"]);
            var process = new Process { StartInfo = start };
            var worker = new Worker(directory, entry, process, log);
            process.OutputDataReceived += (_, e) => worker.Heard(e.Data, isError: false);
            process.ErrorDataReceived += (_, e) => worker.Heard(e.Data, isError: true);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            // Only once started: for a process not yet started it would be complete at once.
            worker.Exited = process.WaitForExitAsync();
            return worker;
        }

        void Heard(string? line, bool isError)
        {
            if (line is null) return;
            lock (_log) _log.WriteLine(line);
            if (!isError) return;
            if (line.StartsWith("remix: ", StringComparison.Ordinal)) _lastError = line["remix: ".Length..];
            else if (System.Text.RegularExpressions.Regex.Match(line, @"step \d+/\d+") is { Success: true } step)
                // Its step and its own ETA: the rest of a training's line would not fit beside the others'.
                LastProgress = System.Text.RegularExpressions.Regex.Match(line, @"ETA \S+") is { Success: true } eta ? $"{step.Value} {eta.Value}" : step.Value;
        }

        /// <summary>Asks the worker to checkpoint and stop, as a scheduler's SIGTERM does.</summary>
        public void Terminate()
        {
            if (!_process.HasExited) _ = Kill(_process.Id, 15);
        }

        /// <summary>Where the worker left its entry, and the line that says so.</summary>
        public (EntryState State, string Line) Outcome()
        {
            _process.WaitForExit(); // the rest of its output
            int code = _process.ExitCode;
            var runDir = GridStatus.RunDirectory(_directory, Entry.Id);
            var state = GridStatus.StateOf(_directory, Entry.Id).State; // its own files, not the whole plan read again
            lock (_log) _log.WriteLine($"== exit code {code} after {Format(Elapsed)}");
            if (code == 0 && state == EntryState.Done) return (state, $"done in {Format(Elapsed)}");
            // The worker's own line says how to go on with remix grid run; here the pool's rerun does.
            if (code is 130 or 143 or 138) return (EntryState.Pending, $"stopped: {_lastError?.Split("; run the same command")[0] ?? "interrupted"}; it resumes when run again");
            if (code > 128 && code < 128 + 65)
                return (EntryState.Pending, $"its worker was killed by signal {code - 128}; it resumes from its last checkpoint when run again");
            if (GridStatus.ReadFailure(runDir) is { } recorded) return (EntryState.Failed, $"failed: {recorded}");
            // Refused before it ran (its lock taken, say): nothing of the entry's own failed, so it stays pending.
            return (state, $"did not run: {_lastError ?? $"exit code {code}"}");
        }

        public void Dispose()
        {
            _process.Dispose();
            lock (_log) _log.Dispose();
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);
}
