namespace Remix.IO;

/// <summary>Writes a whole directory so that it appears complete or not at all: fill a temporary sibling, then rename it.</summary>
public static class AtomicDirectory
{
    /// <summary>Calls <paramref name="fill"/> with an empty temporary directory, then replaces <paramref name="path"/> with it.</summary>
    public static void Write(string path, Action<string> fill)
    {
        var full = Path.GetFullPath(path);
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
        if (Directory.Exists(full)) Directory.Delete(full, true);
        Directory.Move(tmp, full);
    }
}
