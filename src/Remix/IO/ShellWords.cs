namespace Remix.IO;

/// <summary>Words written into a POSIX shell script or command line (a Slurm batch script, a line to paste).</summary>
public static class ShellWords
{
    /// <summary>The words joined by spaces, each in single quotes unless it is plainly safe as it is.</summary>
    public static string Quote(IEnumerable<string> words) => string.Join(' ', words.Select(Quote));

    /// <summary>One word, in single quotes unless it is plainly safe as it is.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+=:,@%".Contains(c)) ? word : "'" + word.Replace("'", "'\\''") + "'";
}
