using System.Text.Json.Nodes;

namespace Remix.IO;

/// <summary>
/// A lock file, created atomically and holding the pid and host of its holder (and the scheduler task it runs as, when
/// given), that keeps a second process off the same work. One left by a process no longer running on this host is taken
/// over; so is one left by the same scheduler task, on any host: a scheduler runs one try of a task at a time, so it was
/// left by an earlier try (killed, requeued onto another node, retried in a new pod). One from another host and another
/// task, or none, cannot be checked from here and is left alone. Disposing it removes the file.
/// </summary>
public sealed class ProcessLock : IDisposable
{
    readonly string _path;

    ProcessLock(string path, string? tookOverFrom, string? tookOverTask)
    {
        _path = path;
        TookOverFrom = tookOverFrom;
        TookOverTask = tookOverTask;
    }

    /// <summary>The holder (<c>pid P on HOST</c>) of the lock that was taken over, or null.</summary>
    public string? TookOverFrom { get; }

    /// <summary>The scheduler task, this process's own, whose earlier try left the lock taken over; null when none was, or its process was gone from this host.</summary>
    public string? TookOverTask { get; }

    /// <summary>
    /// Takes the lock at <paramref name="path"/> for this process running as scheduler task <paramref name="task"/> (or
    /// none), refusing in one line while a process that may be running holds it.
    /// </summary>
    public static ProcessLock Acquire(string path, string? task = null)
    {
        if (TryCreate(path, task)) return new ProcessLock(path, null, null);
        var (pid, host, heldBy) = Holder(path);
        bool sameTask = task is not null && heldBy == task;
        bool gone = host == Environment.MachineName && pid is { } dead && !AtomicFile.IsRunning(dead);
        if (!sameTask && !gone)
            throw new InvalidInputException(path, $"held by {Describe(pid, host)}{(host is not null && host != Environment.MachineName ? " (another host: not checked)" : "")}: another worker runs this entry (delete the lock if it does not)");
        // Only one of two workers finding the same dead lock takes it over: the one that creates the takeover marker.
        var takeover = path + ".takeover";
        if (!TryCreate(takeover, task)) throw new InvalidInputException(path, $"another worker is taking over this lock, left by {(gone ? "a process no longer running" : "an earlier try of this task")}");
        try
        {
            if (Holder(path) != (pid, host, heldBy)) throw new InvalidInputException(path, "taken by another worker meanwhile");
            File.Delete(path);
            if (!TryCreate(path, task)) throw new InvalidInputException(path, "taken by another worker meanwhile");
        }
        finally
        {
            File.Delete(takeover);
        }
        return new ProcessLock(path, Describe(pid, host), gone ? null : heldBy);
    }

    /// <summary>
    /// Who holds the lock at <paramref name="path"/> without taking it: null when there is no lock, else its holder
    /// (<c>pid P on HOST</c>), whether it may still run (false only for a process known to be gone from this host) and
    /// whether that was checked (false for a process on another host, which this one cannot see).
    /// </summary>
    public static (string Holder, bool Alive, bool Checked)? Inspect(string path)
    {
        if (!File.Exists(path)) return null;
        var (pid, host, _) = Holder(path);
        bool here = host == Environment.MachineName && pid is not null;
        return (Describe(pid, host), !here || AtomicFile.IsRunning(pid!.Value), here);
    }

    static bool TryCreate(string path, string? task)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
            // The task is an extra field: a reader that knows only pid and host reads the lock as before.
            var node = new JsonObject { ["pid"] = Environment.ProcessId, ["host"] = Environment.MachineName };
            if (task is not null) node["task"] = task;
            var text = node.ToJsonString() + "\n";
            stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    static (int? Pid, string? Host, string? Task) Holder(string path)
    {
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path));
            return ((int?)node?["pid"], (string?)node?["host"], (string?)node?["task"]);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or FileNotFoundException)
        {
            // Being written this instant, or not a lock of ours: either way not known to be dead.
            return (null, null, null);
        }
    }

    static string Describe(int? pid, string? host) => pid is null ? "an unknown process" : $"pid {pid} on {host}";

    public void Dispose() => File.Delete(_path);
}
