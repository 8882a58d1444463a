using System.Globalization;

namespace Remix.Bench;

/// <summary>Reads "--name value" options and "--flag" switches from a benchmark's arguments; a malformed value is refused in one line.</summary>
static class BenchArgs
{
    public static int Int(string[] args, string name, int fallback) =>
        String(args, name) is not { } text ? fallback
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
        : throw new InvalidInputException(name, $"expected a non-negative integer, found \"{text}\"");

    /// <summary>A comma-separated list of positive integers ("1,32,256").</summary>
    public static int[] Ints(string[] args, string name, int[] fallback) =>
        String(args, name) is not { } text ? fallback
        : [.. text.Split(',').Select(part => int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v
            : throw new InvalidInputException(name, $"expected positive integers separated by commas, found \"{text}\""))];

    public static string? String(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return null;
        return i + 1 < args.Length ? args[i + 1] : throw new InvalidInputException(name, "expected a value after it");
    }

    public static bool Flag(string[] args, string name) => Array.IndexOf(args, name) >= 0;

    /// <summary>Refuses the first argument that is neither one of <paramref name="options"/> (each followed by its value) nor one of <paramref name="flags"/>.</summary>
    public static void Check(string[] args, IReadOnlyCollection<string> options, IReadOnlyCollection<string>? flags = null)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (options.Contains(args[i])) i++;
            else if (flags?.Contains(args[i]) != true)
                throw new InvalidInputException(args[i], $"is not an option of this benchmark (expected {string.Join(", ", options.Concat(flags ?? []))})");
        }
    }
}
