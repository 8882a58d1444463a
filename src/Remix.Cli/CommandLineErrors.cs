using System.CommandLine;
using System.CommandLine.Parsing;

namespace Remix.Cli;

/// <summary>
/// What is wrong with a command line, one message per error. A word that names no command, option or argument gets
/// the closest valid name of the command being parsed when one is close: <c>unknown command 'trian' (did you mean 'train'?)</c>.
/// </summary>
public static class CommandLineErrors
{
    public static IReadOnlyList<string> Messages(ParseResult parse)
    {
        // System.CommandLine reports each unmatched word as "Unrecognized command or argument 'WORD'" on the command
        // result; those are described by UnknownWords instead. The word is matched with its quotes, so that a stray
        // "r" does not hide another error whose message merely contains the letter.
        var unmatched = parse.UnmatchedTokens;
        var others = parse.Errors.Where(e => !(e.SymbolResult is CommandResult && unmatched.Any(w => e.Message.Contains($"'{w}'", StringComparison.Ordinal))));
        return [.. UnknownWords(parse), .. others.Select(e => e.Message)];
    }

    static List<string> UnknownWords(ParseResult parse)
    {
        var messages = new List<string>();
        var unmatched = new Queue<string>(parse.UnmatchedTokens);
        var command = parse.CommandResult.Command;
        bool afterDoubleDash = false, valueOfUnknownOption = false;
        // The unmatched words are a subsequence of the tokens; walking the tokens tells which word followed which.
        foreach (var token in parse.Tokens)
        {
            if (unmatched.Count == 0) break;
            if (token.Type == TokenType.DoubleDash) afterDoubleDash = true;
            if (token.Value != unmatched.Peek())
            {
                valueOfUnknownOption = false;
                continue;
            }
            var word = unmatched.Dequeue();
            if (!afterDoubleDash && word.Length > 1 && word[0] == '-' && !char.IsDigit(word[1]))
            {
                var name = word.Split('=', ':')[0];
                messages.Add($"unknown option '{name}'{Hint(name, OptionNames(parse), command)}");
                valueOfUnknownOption = name.Length == word.Length; // --lrr 1e-3: the 1e-3 was meant for --lrr
            }
            else if (valueOfUnknownOption)
                valueOfUnknownOption = false;
            else if (command.Subcommands.Count > 0)
            {
                messages.Add($"unknown command '{word}'{Hint(word, command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name)), command)}");
                return messages; // the words after it were meant for that command
            }
            else
                messages.Add($"unexpected argument '{word}' (see '{CommandPath(command)} --help')");
        }
        messages.AddRange(unmatched.Select(w => $"unexpected argument '{w}' (see '{CommandPath(command)} --help')"));
        return messages;
    }

    /// <summary>The options valid where the parse ended: the command's own and those its parents pass down.</summary>
    static IEnumerable<string> OptionNames(ParseResult parse)
    {
        var options = parse.CommandResult.Command.Options.ToList();
        for (var parent = parse.CommandResult.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
            options.AddRange(parent.Command.Options.Where(o => o.Recursive));
        return options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name));
    }

    static string Hint(string word, IEnumerable<string> names, Command command) =>
        Closest(word, names) is { } name ? $" (did you mean '{name}'?)" : $" (see '{CommandPath(command)} --help')";

    static string CommandPath(Command command) =>
        string.Join(' ', Enumerable.Reverse(Ancestry(command)).Select(c => c.Name));

    static IEnumerable<Command> Ancestry(Command command)
    {
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault()) yield return c;
    }

    /// <summary>
    /// The name nearest to <paramref name="word"/> (dashes and case aside) if it is a slip away — at most one edit per
    /// three letters, a swap of neighbours counting as one — or else the only name that <paramref name="word"/> begins.
    /// </summary>
    public static string? Closest(string word, IEnumerable<string> names)
    {
        static string Bare(string s) => s.TrimStart('-').ToLowerInvariant();
        var bare = Bare(word);
        var candidates = names.Distinct().Select(n => (Name: n, Distance: Distance(bare, Bare(n)))).ToList();
        if (candidates.Count == 0) return null;
        var nearest = candidates.MinBy(c => c.Distance);
        if (nearest.Distance <= Math.Max(1, bare.Length / 3)) return nearest.Name;
        var extending = candidates.Where(c => bare.Length >= 3 && Bare(c.Name).StartsWith(bare, StringComparison.Ordinal)).ToList();
        return extending.Count == 1 ? extending[0].Name : null;
    }

    /// <summary>Edits (insert, delete, replace, swap two neighbours) that turn <paramref name="a"/> into <paramref name="b"/>.</summary>
    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
