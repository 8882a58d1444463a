using System.Text;

namespace Remix.Data;

/// <summary>
/// Reads a text file line by line as strict UTF-8: invalid bytes stop with the file and line
/// named. Handles \n and \r\n; a byte-order mark is skipped.
/// </summary>
internal static class Utf8Lines
{
    static readonly UTF8Encoding Strict = new(false, true);

    /// <summary>Lines with their 1-based numbers.</summary>
    public static IEnumerable<(int Line, string Text)> Read(string path)
    {
        using var stream = OpenRead(path);
        var buffer = new List<byte>(4096);
        int lineNumber = 0;
        bool first = true;
        var chunk = new byte[1 << 16];
        int n;
        while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (chunk[i] != (byte)'\n') continue;
                buffer.AddRange(chunk.AsSpan(start, i - start));
                yield return (++lineNumber, Decode(buffer, path, lineNumber, ref first));
                buffer.Clear();
                start = i + 1;
            }
            buffer.AddRange(chunk.AsSpan(start, n - start));
        }
        if (buffer.Count > 0) yield return (++lineNumber, Decode(buffer, path, lineNumber, ref first));
    }

    static string Decode(List<byte> bytes, string path, int line, ref bool first)
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        if (first && span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) span = span[3..];
        first = false;
        if (span.Length > 0 && span[^1] == (byte)'\r') span = span[..^1];
        try { return Strict.GetString(span); }
        catch (DecoderFallbackException) { throw new InvalidInputException(path, $"line {line}: invalid UTF-8"); }
    }

    /// <summary>The whole file as bytes, refusing invalid UTF-8 with the line of the first bad byte.</summary>
    public static byte[] ReadAllValidated(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new InvalidInputException(path, "file not found"); }
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            int bad = FirstInvalidByte(bytes);
            int line = 1 + bytes.AsSpan(0, bad).Count((byte)'\n');
            throw new InvalidInputException(path, $"line {line}: invalid UTF-8");
        }
        return bytes;
    }

    static int FirstInvalidByte(byte[] bytes)
    {
        var decoder = Strict.GetDecoder();
        var chars = new char[8];
        for (int i = 0; i < bytes.Length; i++)
        {
            try { decoder.GetChars(bytes, i, 1, chars, 0, flush: false); }
            catch (DecoderFallbackException) { return i; }
        }
        return bytes.Length - 1;
    }

    public static FileStream OpenRead(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new InvalidInputException(path, "file not found"); }
    }
}
