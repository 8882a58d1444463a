using System.CommandLine;
using Remix;

namespace Remix.Cli;

/// <summary>The <c>remix</c> command tree; each command parses options and calls the library.</summary>
public static class CliApp
{
    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Show stack traces for errors",
        Recursive = true,
    };

    /// <summary>The command tree; <paramref name="commandLine"/> (<c>remix</c> and its arguments) is recorded in the provenance.json of the runs it starts.</summary>
    public static RootCommand Build(IReadOnlyList<string> commandLine)
    {
        var root = new RootCommand("Remix: continual memorization of factoids in language models (REMIX and baselines).");
        root.Options.Add(Verbose);
        root.Subcommands.Add(GenerateCommand.Build());
        root.Subcommands.Add(ModelCommands.Build());
        root.Subcommands.Add(DataCommands.Build());
        root.Subcommands.Add(TrainCommands.Train(commandLine));
        root.Subcommands.Add(TrainCommands.Eval());
        root.Subcommands.Add(TokenizerCommands.Build());
        root.Subcommands.Add(PretrainCommand.Build(commandLine));
        root.Subcommands.Add(RunCommand.Build(commandLine));
        root.Subcommands.Add(DemoCommand.Build(commandLine));
        root.Subcommands.Add(ReportCommand.Build());
        root.Subcommands.Add(AnalyzeCommands.Build());
        root.Subcommands.Add(InfoCommand.Build());
        return root;
    }

    /// <summary>Runs the command line; bad input ends with one line on stderr and a non-zero exit code.</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var parse = Build(["remix", .. args]).Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"remix: {error.Message}");
            return 2;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (InvalidInputException e)
        {
            stderr.WriteLine($"remix: {e.Message}");
            if (parse.GetValue(Verbose)) stderr.WriteLine(e);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            stderr.WriteLine($"remix: error: {e.Message.Split('\n')[0]}");
            if (parse.GetValue(Verbose)) stderr.WriteLine(e);
            return 1;
        }
    }
}
