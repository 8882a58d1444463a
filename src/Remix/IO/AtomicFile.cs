namespace Remix.IO;

/// <summary>Writes files so that a reader never sees a half-written one: temporary name, then rename.</summary>
internal static class AtomicFile
{
    /// <summary>Writes the file through <paramref name="write"/> into a temporary sibling, then renames it over <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = TemporarySibling(full);
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        RemoveAbandonedSiblings(full);
    }

    /// <summary>Writes UTF-8 text (no byte-order mark) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s => { var bytes = new System.Text.UTF8Encoding(false).GetBytes(text); s.Write(bytes); });

    /// <summary>A unique temporary name next to <paramref name="path"/>, on the same file system so the rename is atomic.</summary>
    public static string TemporarySibling(string path) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");

    /// <summary>
    /// Deletes the temporary siblings of <paramref name="path"/> (files or directories, <see cref="TemporarySibling"/>)
    /// left by processes that are no longer running — killed in the middle of a write. Called once a complete
    /// <paramref name="path"/> is in place, so nothing they hold is needed any more; a running process's are kept.
    /// </summary>
    public static void RemoveAbandonedSiblings(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        string prefix = $".{Path.GetFileName(full)}.";
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory, prefix + "*.tmp"))
        {
            var parts = Path.GetFileName(entry)[prefix.Length..^".tmp".Length].Split('.'); // {pid}.{guid}
            if (parts.Length != 2 || parts[1].Length != 32 || !int.TryParse(parts[0], out int pid) || IsRunning(pid)) continue;
            try
            {
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
                else File.Delete(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for the next write to try again.
            }
        }
    }

    /// <summary>Whether a process of this id runs on this machine (this process included).</summary>
    public static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
