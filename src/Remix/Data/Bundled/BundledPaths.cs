namespace Remix.Data.Bundled;

/// <summary>Finds the bundled files (<c>data/...</c>, <c>models/...</c>) from the working directory or the application's folder, searching upwards.</summary>
public static class BundledPaths
{
    public const string WordList = "data/words/english-words.txt";
    public const string GenericCorpus = "data/corpus/wordnet-glosses.jsonl";

    /// <summary>The first existing <paramref name="relative"/> file above the working directory or the app folder.</summary>
    public static string Find(string relative) =>
        Search(relative, DefaultStarts(), File.Exists)
            ?? throw new InvalidInputException(relative, "bundled file not found above the working directory or the application; pass its path explicitly");

    /// <summary>The folders of a checkout that hold bundled files; only paths under them are searched for.</summary>
    public static readonly IReadOnlyList<string> Roots = ["data", "models", "examples"];

    /// <summary>
    /// The path a user gave for an input file or folder: <paramref name="path"/> itself where it exists (relative to
    /// <paramref name="baseDirectory"/>, by default the working directory); else, for a relative path under one of the
    /// bundled <see cref="Roots"/>, the bundled file or folder of that name found above <paramref name="searchFrom"/>
    /// (by default the working directory and the app folder), so that <c>models/remix-tiny</c> works from any folder;
    /// else the path as given, so that the reader's "not found" error names what the user wrote. Other relative paths
    /// are never looked for elsewhere: a mistyped <c>facts.jsonl</c> must not quietly become some other folder's.
    /// </summary>
    public static string Resolve(string path, string? baseDirectory = null, IEnumerable<string>? searchFrom = null)
    {
        var local = baseDirectory is null ? path : Path.Combine(baseDirectory, path);
        if (path.Length == 0 || Path.IsPathRooted(path) || File.Exists(local) || Directory.Exists(local)) return local;
        var first = path.Split(['/', Path.DirectorySeparatorChar], 2)[0];
        if (!Roots.Contains(first)) return local;
        return Search(path, searchFrom ?? DefaultStarts(), p => File.Exists(p) || Directory.Exists(p)) ?? local;
    }

    static string[] DefaultStarts() => [Directory.GetCurrentDirectory(), AppContext.BaseDirectory];

    /// <summary>The first <paramref name="relative"/> that <paramref name="exists"/> in a start folder or one above it.</summary>
    static string? Search(string relative, IEnumerable<string> starts, Func<string, bool> exists)
    {
        foreach (var start in starts)
            for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (exists(candidate)) return candidate;
            }
        return null;
    }
}
