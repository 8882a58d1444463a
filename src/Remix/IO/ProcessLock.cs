using System.Text.Json.Nodes;

namespace Remix.IO;

/// <summary>
/// A lock file, created atomically and holding the pid and host of its holder, that keeps a second process off the same
/// work; one left by a process no longer running on this host is taken over. Disposing it removes the file.
/// </summary>
public sealed class ProcessLock : IDisposable
{
    readonly string _path;

    ProcessLock(string path, string? tookOverFrom)
    {
        _path = path;
        TookOverFrom = tookOverFrom;
    }

    /// <summary>The holder (<c>pid P on HOST</c>) of the dead process's lock that was taken over, or null.</summary>
    public string? TookOverFrom { get; }

    /// <summary>Takes the lock at <paramref name="path"/>, refusing in one line while a running process holds it.</summary>
    public static ProcessLock Acquire(string path)
    {
        if (TryCreate(path)) return new ProcessLock(path, null);
        var (pid, host) = Holder(path);
        if (host != Environment.MachineName || pid is not { } dead || AtomicFile.IsRunning(dead))
            throw new InvalidInputException(path, $"held by {Describe(pid, host)}: another worker runs this entry (delete the lock if it does not)");
        // Only one of two workers finding the same dead lock takes it over: the one that creates the takeover marker.
        var takeover = path + ".takeover";
        if (!TryCreate(takeover)) throw new InvalidInputException(path, "another worker is taking over this lock, left by a process no longer running");
        try
        {
            if (Holder(path) != (pid, host)) throw new InvalidInputException(path, "taken by another worker meanwhile");
            File.Delete(path);
            if (!TryCreate(path)) throw new InvalidInputException(path, "taken by another worker meanwhile");
        }
        finally
        {
            File.Delete(takeover);
        }
        return new ProcessLock(path, Describe(pid, host));
    }

    /// <summary>
    /// Who holds the lock at <paramref name="path"/> without taking it: null when there is no lock, else its holder
    /// (<c>pid P on HOST</c>) and whether it may still run (false only for a process known to be gone from this host).
    /// </summary>
    public static (string Holder, bool Alive)? Inspect(string path)
    {
        if (!File.Exists(path)) return null;
        var (pid, host) = Holder(path);
        bool alive = host != Environment.MachineName || pid is not { } p || AtomicFile.IsRunning(p);
        return (Describe(pid, host), alive);
    }

    static bool TryCreate(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
            var text = new JsonObject { ["pid"] = Environment.ProcessId, ["host"] = Environment.MachineName }.ToJsonString() + "\n";
            stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    static (int? Pid, string? Host) Holder(string path)
    {
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path));
            return ((int?)node?["pid"], (string?)node?["host"]);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or FileNotFoundException)
        {
            // Being written this instant, or not a lock of ours: either way not known to be dead.
            return (null, null);
        }
    }

    static string Describe(int? pid, string? host) => pid is null ? "an unknown process" : $"pid {pid} on {host}";

    public void Dispose() => File.Delete(_path);
}
