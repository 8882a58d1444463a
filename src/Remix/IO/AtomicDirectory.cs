namespace Remix.IO;

/// <summary>Writes a whole directory so that it appears complete or not at all: fill a temporary sibling, then rename it.</summary>
public static class AtomicDirectory
{
    /// <summary>Calls <paramref name="fill"/> with an empty temporary directory, then replaces <paramref name="path"/> with it.</summary>
    public static void Write(string path, Action<string> fill)
    {
        // Without the trailing separator of "out/", whose "sibling" would otherwise be made inside it.
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var tmp = AtomicFile.TemporarySibling(full);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
        }
        catch
        {
            Directory.Delete(tmp, true);
            throw;
        }
        if (!Directory.Exists(full))
            Directory.Move(tmp, full);
        else
        {
            // The old directory is renamed aside, not deleted, before the new one takes its place: a kill between the
            // two renames leaves it complete beside the path instead of half deleted.
            var old = AtomicFile.TemporarySibling(full);
            Directory.Move(full, old);
            Directory.Move(tmp, full);
            Directory.Delete(old, true);
        }
        AtomicFile.RemoveAbandonedSiblings(full);
    }

    /// <summary>
    /// Calls <paramref name="fill"/> with an empty temporary directory and renames it to <paramref name="path"/> unless a
    /// directory is there already — put there meanwhile by another process, say — which is kept as it is; false then.
    /// </summary>
    public static bool WriteOnce(string path, Action<string> fill)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Directory.Exists(full)) return false;
        var tmp = AtomicFile.TemporarySibling(full);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            Directory.Move(tmp, full);
        }
        catch (IOException) when (Directory.Exists(full))
        {
            // Another writer's complete copy took the path between the check and the rename: it stays, this one goes.
            Directory.Delete(tmp, true);
            return false;
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            throw;
        }
        AtomicFile.RemoveAbandonedSiblings(full);
        return true;
    }

    /// <summary>
    /// Removes a directory so that it is either whole or gone: renamed to a temporary sibling first, then deleted. A
    /// kill during the deletion leaves a part of it under the temporary name, which the next write or removal of
    /// <paramref name="path"/> clears (<see cref="AtomicFile.RemoveAbandonedSiblings"/>).
    /// </summary>
    public static void Delete(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            var aside = AtomicFile.TemporarySibling(full);
            Directory.Move(full, aside);
            Directory.Delete(aside, true);
        }
        AtomicFile.RemoveAbandonedSiblings(full);
    }
}
