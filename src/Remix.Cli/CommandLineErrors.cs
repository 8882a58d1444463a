using System.CommandLine;
using System.CommandLine.Parsing;
using Remix.IO;

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
        NearestName.Closest(word, names) is { } name ? $" (did you mean '{name}'?)" : $" (see '{CommandPath(command)} --help')";

    static string CommandPath(Command command) =>
        string.Join(' ', Enumerable.Reverse(Ancestry(command)).Select(c => c.Name));

    static IEnumerable<Command> Ancestry(Command command)
    {
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault()) yield return c;
    }
}
