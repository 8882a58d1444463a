using System.Security.Cryptography;
using System.Text;

namespace Remix.IO;

/// <summary>
/// A file remix writes for people to read and edit (an sbatch script, a manifest), its last line a comment holding a
/// hash of the rest: while the file still matches it, it is remix's and written again freely; once edited (an
/// <c>--account</c> added, a <c>module load</c>), or written by someone else, it is replaced only when forced.
/// </summary>
internal static class MarkedFile
{
    /// <summary>How the marker line begins; the hash follows it.</summary>
    public const string MarkerPrefix = "# remix-sha256: ";

    /// <summary><paramref name="text"/> (whole lines) with the marker line of its hash appended: what <see cref="Write"/> writes.</summary>
    public static string Marked(string text) =>
        $"{text}{MarkerPrefix}{Hash(text)} (of the lines above: while they match it, remix replaces this file; once edited, only with --force)\n";

    /// <summary>
    /// Writes <paramref name="text"/>, marked, to <paramref name="path"/>; refuses in one line, naming the file and what
    /// replaces it, when a file there is not remix's unedited one, unless <paramref name="force"/>.
    /// </summary>
    public static void Write(string path, string text, bool force)
    {
        if (!force && File.Exists(path) && Edited(File.ReadAllText(path)) is { } why)
            throw new InvalidInputException(path, $"{why}; --force replaces it");
        AtomicFile.WriteAllText(path, Marked(text));
    }

    /// <summary>Why <paramref name="content"/> is not remix's unedited file, or null when it is.</summary>
    static string? Edited(string content)
    {
        int at = content.LastIndexOf(MarkerPrefix, StringComparison.Ordinal);
        if (at < 0 || (at > 0 && content[at - 1] != '\n')) return $"not written by remix (no \"{MarkerPrefix.Trim()}\" line)";
        int end = content.IndexOf('\n', at);
        var line = end < 0 ? content[at..] : content[at..end];
        var rest = content[..at] + (end < 0 ? "" : content[(end + 1)..]);
        var hash = line[MarkerPrefix.Length..].Split(' ')[0];
        return hash == Hash(rest) ? null : "edited since remix wrote it";
    }

    static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
