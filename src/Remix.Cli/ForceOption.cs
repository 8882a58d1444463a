using System.CommandLine;

namespace Remix.Cli;

/// <summary>
/// <c>--force</c> and the check behind it: a command never replaces an existing output file, or a folder that holds
/// something, unless asked to (<c>remix data kvr --n 5 --out facts.jsonl</c> must not quietly replace 100 facts).
/// </summary>
public sealed class ForceOption(string outputs)
{
    /// <summary><paramref name="outputs"/> says what it replaces, as help shows it: "--out file", "--out folder".</summary>
    public Option<bool> Option { get; } = new("--force") { Description = $"Replace an existing {outputs}" };

    public void AddTo(Command command) => command.Options.Add(Option);

    /// <summary>
    /// Refuses <paramref name="path"/> when a file is there or a folder that is not empty, unless --force was given; and
    /// always when it is, or holds, one of the command's <paramref name="inputs"/>, which replacing it would destroy.
    /// </summary>
    public void Check(ParseResult parse, string path, params IEnumerable<string> inputs)
    {
        foreach (var input in inputs)
            if (Folder(input).StartsWith(Folder(path), StringComparison.Ordinal))
                throw new InvalidInputException(path, $"holds the input {input}, which writing there would destroy; choose another output");
        if (parse.GetValue(Option))
        {
            // A folder output is replaced as a whole; the folder the command runs in (or one above it) would take
            // everything in it along.
            if (Directory.Exists(path) && Folder(Directory.GetCurrentDirectory()).StartsWith(Folder(path), StringComparison.Ordinal))
                throw new InvalidInputException(path, "holds the working directory, which --force does not replace; name a folder of its own");
            return;
        }
        if (File.Exists(path)) throw new InvalidInputException(path, "already exists; --force replaces it");
        if (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any())
            throw new InvalidInputException(path, "is a folder that is not empty; --force replaces it");
    }

    static string Folder(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)) + Path.DirectorySeparatorChar;
}
