namespace Remix.Data.Bundled;

/// <summary>Finds the bundled files (<c>data/...</c>) from the working directory or the application's folder, searching upwards.</summary>
public static class BundledPaths
{
    public const string WordList = "data/words/english-words.txt";
    public const string GenericCorpus = "data/corpus/wordnet-glosses.jsonl";

    /// <summary>The first existing <paramref name="relative"/> above the working directory or the app folder.</summary>
    public static string Find(string relative)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate)) return candidate;
            }
        throw new InvalidInputException(relative, "bundled file not found above the working directory or the application; pass its path explicitly");
    }
}
