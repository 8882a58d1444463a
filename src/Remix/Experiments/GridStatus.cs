using System.Globalization;
using System.Text.Json.Nodes;
using Remix.IO;

namespace Remix.Experiments;

/// <summary>Where an entry of a grid stands.</summary>
public enum EntryState
{
    /// <summary>Not finished and not running: never started, or stopped (interrupted, killed) and resuming when run again.</summary>
    Pending,

    /// <summary>Held by a worker's lock that is not known to be dead.</summary>
    Running,

    /// <summary>Finished: its run folder holds results.json and the DONE marker.</summary>
    Done,

    /// <summary>Its last run ended in an error, recorded in <c>runs/ID.failed</c>; left alone until <c>remix grid retry</c>.</summary>
    Failed,
}

/// <summary>One entry of a plan folder and its state.</summary>
/// <param name="Index">Its line of runs.jsonl, from 0: the index a job array's task runs.</param>
/// <param name="Id">Its id, the name of its run folder.</param>
/// <param name="Seed">Its seed.</param>
/// <param name="Axes">The name of its value on each axis, by path, in the grid's order (the seeds axis among them when the grid has it).</param>
/// <param name="State">Where it stands.</param>
/// <param name="Detail">For a failed entry its one-line error; for a running one its worker (<c>pid P on HOST</c>, with
/// <c>(another host: not checked)</c> when on another host); for a pending one that
/// started before, that it resumes (and whose dead lock it finds); else null.</param>
public sealed record EntryStatus(int Index, string Id, int Seed, IReadOnlyList<(string Path, string Name)> Axes, EntryState State, string? Detail);

/// <summary>
/// The state of every entry of a plan folder, read from the files its workers leave: <c>runs/ID/</c> (DONE and results.json
/// when finished), <c>runs/ID.lock</c> (a worker's pid and host) and <c>runs/ID.failed</c> (the error its last run ended in).
/// </summary>
public static class GridStatus
{
    /// <summary>The suffix of an entry's failure record, beside its run folder.</summary>
    public const string FailedSuffix = ".failed";

    /// <summary>The suffix of an entry's lock, beside its run folder.</summary>
    public const string LockSuffix = ".lock";

    /// <summary>The folder of a plan folder that holds each entry's log, <c>entry-I.log</c>.</summary>
    public const string LogsDirectoryName = "logs";

    /// <summary>The log of entry <paramref name="index"/>: the output of every run of it (local workers, array tasks), appended.</summary>
    public static string LogPath(string directory, int index) =>
        Path.Combine(directory, LogsDirectoryName, $"entry-{index.ToString(CultureInfo.InvariantCulture)}.log");

    /// <summary>The run folder of entry <paramref name="id"/> in plan folder <paramref name="directory"/>.</summary>
    public static string RunDirectory(string directory, string id) => Path.Combine(directory, GridPlan.RunsDirectoryName, id);

    /// <summary>Every entry of the plan folder, in the order of runs.jsonl, with its state.</summary>
    public static IReadOnlyList<EntryStatus> Read(string directory)
    {
        var statuses = new List<EntryStatus>();
        foreach (var line in GridPlan.ReadLines(directory))
        {
            var (state, detail) = StateOf(RunDirectory(directory, line.Id));
            statuses.Add(new EntryStatus(line.Index, line.Id, line.Seed, [.. line.Axes.Select(a => (a.Path, a.Name))], state, detail));
        }
        return statuses;
    }

    /// <summary>Where entry <paramref name="id"/> of the plan folder <paramref name="directory"/> stands, and its detail, read from its files alone.</summary>
    public static (EntryState State, string? Detail) StateOf(string directory, string id) => StateOf(RunDirectory(directory, id));

    static (EntryState, string?) StateOf(string runDir)
    {
        if (File.Exists(Path.Combine(runDir, RunLayout.DoneMarker)) && File.Exists(Path.Combine(runDir, ExperimentResults.FileName)))
            return (EntryState.Done, null);
        var held = ProcessLock.Inspect(runDir + LockSuffix);
        if (held is { Alive: true } live) return (EntryState.Running, live.Checked ? live.Holder : $"{live.Holder} (another host: not checked)");
        if (ReadFailure(runDir) is { } error) return (EntryState.Failed, error);
        if (held is { } dead) return (EntryState.Pending, $"stopped: its worker ({dead.Holder}) is gone; it resumes");
        return (EntryState.Pending, Directory.Exists(runDir) ? "started before; it resumes" : null);
    }

    /// <summary>The one-line error recorded for the run folder <paramref name="runDir"/>'s entry, or null.</summary>
    public static string? ReadFailure(string runDir)
    {
        var path = runDir + FailedSuffix;
        if (!File.Exists(path)) return null;
        try
        {
            return (string?)JsonNode.Parse(File.ReadAllText(path))?["error"] ?? "failed (no error recorded)";
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return $"failed ({path} unreadable)";
        }
    }

    /// <summary>Records that the run of <paramref name="runDir"/>'s entry ended in <paramref name="error"/> (its first line is kept).</summary>
    public static void RecordFailure(string runDir, string error)
    {
        var record = new JsonObject
        {
            ["error"] = error.Split('\n')[0].TrimEnd(),
            ["time"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["host"] = Environment.MachineName,
            ["pid"] = Environment.ProcessId,
        };
        AtomicFile.WriteAllText(runDir + FailedSuffix, record.ToJsonString() + "\n");
    }

    /// <summary>Removes the failure record of <paramref name="runDir"/>'s entry, if there is one.</summary>
    public static void ClearFailure(string runDir) => File.Delete(runDir + FailedSuffix);

    /// <summary>
    /// Puts failed entries back to pending (their run folders are kept, so each resumes from where it stopped): those named by
    /// <paramref name="ids"/> (each must be failed), or every failed one when it is empty. Returns the entries put back.
    /// </summary>
    public static IReadOnlyList<EntryStatus> Retry(string directory, IReadOnlyCollection<string> ids)
    {
        var all = Read(directory);
        foreach (var id in ids)
        {
            var entry = all.FirstOrDefault(e => e.Id == id)
                ?? throw new InvalidInputException(id, NearestName.Closest(id, all.Select(e => e.Id)) is { } near ? $"no such entry (did you mean '{near}'?)" : "no such entry in this plan");
            if (entry.State != EntryState.Failed) throw new InvalidInputException(id, $"not failed: it is {Describe(entry.State)}");
        }
        var back = all.Where(e => e.State == EntryState.Failed && (ids.Count == 0 || ids.Contains(e.Id))).ToList();
        foreach (var entry in back) ClearFailure(RunDirectory(directory, entry.Id));
        return back;
    }

    /// <summary>The state's word in listings: pending, running, done, failed.</summary>
    public static string Describe(EntryState state) => state.ToString().ToLowerInvariant();
}
