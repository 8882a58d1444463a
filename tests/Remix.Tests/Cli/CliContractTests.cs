using System.CommandLine;
using System.CommandLine.Help;
using System.Text.RegularExpressions;
using Remix.Cli;

namespace Remix.Tests.Cli;

/// <summary>What every command owes its user: help that names the tool and explains every option, and one-line errors that point to the right name.</summary>
public class CliContractTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => Support.Cli.Run(args);

    /// <summary>Every command with the words that reach it: (remix), (remix, data), (remix, data, kvr), ...</summary>
    static IEnumerable<(Command Command, string[] Words)> Tree(Command command, string[] words)
    {
        yield return (command, words);
        foreach (var sub in command.Subcommands)
            foreach (var pair in Tree(sub, [.. words, sub.Name])) yield return pair;
    }

    static List<(Command Command, string[] Words)> AllCommands() => [.. Tree(CliApp.Build(), [])];

    static bool IsBuiltIn(Option o) => o is HelpOption or VersionOption;

    [Fact]
    public void EveryOption_HasADescription_AndSaysWhatHappensWhenItIsLeftOut()
    {
        var commands = AllCommands();
        Assert.True(commands.Count > 15);
        foreach (var (command, words) in commands)
            foreach (var option in command.Options.Where(o => !IsBuiltIn(o)))
            {
                var where = $"remix {string.Join(' ', words)} {option.Name}";
                Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{where} has no description");
                // A flag is off when left out and a repeatable option empty; any other optional value shows its default,
                // as "[default: X]" from DefaultValueFactory or in words in the description.
                bool flagOrList = option.ValueType == typeof(bool) || option.ValueType.IsArray;
                if (!option.Required && !flagOrList)
                    Assert.True(option.HasDefaultValue || option.Description!.Contains("default", StringComparison.OrdinalIgnoreCase), $"{where} does not say its default");
            }
    }

    [Fact]
    public void EveryCommandsHelp_IsForRemix_AndShowsEveryDefault()
    {
        foreach (var (command, words) in AllCommands())
        {
            var help = Run([.. words, "--help"]);
            Assert.Equal(0, help.Code);
            var usage = help.Out.Split('\n').SkipWhile(l => !l.StartsWith("Usage:")).Skip(1).First().Trim();
            Assert.StartsWith(string.Join(' ', ["remix", .. words]), usage);
            // A flag has a default (false) that help rightly leaves out.
            int defaults = command.Options.Count(o => o.HasDefaultValue && o.ValueType != typeof(bool) && !IsBuiltIn(o));
            Assert.True(Regex.Matches(help.Out, @"\[default: ").Count == defaults, $"remix {string.Join(' ', words)} --help shows {Regex.Matches(help.Out, @"\[default: ").Count} defaults of {defaults}");
        }
        Assert.Contains("--lr <lr>", Run("train", "--help").Out);
        Assert.Matches(@"--lr <lr>\s+Peak learning rate \(AdamW\) \[default: 5E-05\]", Run("train", "--help").Out);
    }

    [Fact]
    public void NoArguments_PrintsTheHelp_AndSoDoesACommandGroupAlone()
    {
        var bare = Run();
        Assert.Equal(0, bare.Code);
        Assert.Empty(bare.Err);
        Assert.Equal(Run("--help").Out, bare.Out);
        Assert.Contains("remix [command] [options]", bare.Out);
        var group = Run("data");
        Assert.Equal(0, group.Code);
        Assert.Contains("remix data [command] [options]", group.Out);
        Assert.Contains("filter-known", group.Out);
    }

    [Theory]
    [InlineData(new[] { "trian" }, "remix: unknown command 'trian' (did you mean 'train'?)")]
    [InlineData(new[] { "trian", "--lr", "1e-3", "--model", "m" }, "remix: unknown command 'trian' (did you mean 'train'?)")]
    [InlineData(new[] { "data", "inpsect", "x.jsonl" }, "remix: unknown command 'inpsect' (did you mean 'inspect'?)")]
    [InlineData(new[] { "train", "--lrr", "1e-3", "--model", "m", "--data", "d", "--out", "o" }, "remix: unknown option '--lrr' (did you mean '--lr'?)")]
    [InlineData(new[] { "train", "--lrr=1e-3", "--model", "m", "--data", "d", "--out", "o" }, "remix: unknown option '--lrr' (did you mean '--lr'?)")]
    [InlineData(new[] { "train", "--batchsize", "8", "--model", "m", "--data", "d", "--out", "o" }, "remix: unknown option '--batchsize' (did you mean '--batch-size'?)")]
    [InlineData(new[] { "eval", "--max-new", "8", "--model", "m", "--data", "d" }, "remix: unknown option '--max-new' (did you mean '--max-new-tokens'?)")]
    [InlineData(new[] { "generate", "--model", "m", "--prompt", "x", "--verbos" }, "remix: unknown option '--verbos' (did you mean '--verbose'?)")]
    [InlineData(new[] { "model", "info", "somewhere", "--frobnicate" }, "remix: unknown option '--frobnicate' (see 'remix model info --help')")]
    [InlineData(new[] { "frobnicate" }, "remix: unknown command 'frobnicate' (see 'remix --help')")]
    [InlineData(new[] { "model", "info", "a", "b" }, "remix: unexpected argument 'b' (see 'remix model info --help')")]
    public void AMisspelledName_GetsOneLine_WithTheClosestValidName(string[] args, string expected)
    {
        var r = Run(args);
        Assert.Equal(2, r.Code);
        Assert.Equal(expected + Environment.NewLine, r.Err);
        Assert.Empty(r.Out);
    }

    [Fact]
    public void AnUnknownOption_AndAMissingOne_AreOneLineEach()
    {
        var r = Run("train", "--lrr", "1e-3", "--data", "d", "--out", "o");
        Assert.Equal(2, r.Code);
        Assert.Equal(["remix: unknown option '--lrr' (did you mean '--lr'?)", "remix: Option '--model' is required."], r.Err.TrimEnd().Split(Environment.NewLine));
    }
}
