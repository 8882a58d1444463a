using System.CommandLine.Help;
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

    /// <summary>
    /// The whole command tree, for <see cref="Run"/> and for tests that walk it; <paramref name="commandLine"/> (<c>remix</c>
    /// and its arguments) is recorded in the provenance.json of the runs it starts.
    /// </summary>
    public static Command Build(IReadOnlyList<string>? commandLine = null)
    {
        commandLine ??= ["remix"];
        // Named here rather than after the executable (RootCommand's way), so that the usage line reads "remix"
        // however it is started: the ./remix wrapper runs Remix.Cli.dll, the tests a test host.
        var root = new Command("remix", "Remix: continual memorization of factoids in language models (REMIX and baselines).")
        {
            new HelpOption(), new VersionOption(), Verbose,
        };
        root.Subcommands.Add(GenerateCommand.Build());
        root.Subcommands.Add(ModelCommands.Build());
        root.Subcommands.Add(DataCommands.Build());
        root.Subcommands.Add(TrainCommands.Train(commandLine));
        root.Subcommands.Add(TrainCommands.Eval());
        root.Subcommands.Add(TokenizerCommands.Build());
        root.Subcommands.Add(PretrainCommand.Build(commandLine));
        root.Subcommands.Add(RunCommand.Build(commandLine));
        root.Subcommands.Add(DemoCommand.Build(commandLine));
        root.Subcommands.Add(GridCommands.Build(commandLine));
        root.Subcommands.Add(ReportCommand.Build());
        root.Subcommands.Add(AnalyzeCommands.Build());
        root.Subcommands.Add(InfoCommand.Build());
        root.Subcommands.Add(PlanCommands.Build());
        // `remix` or `remix data` alone asks what there is: the help, not an error.
        foreach (var command in Commands(root).Where(c => c.Action is null && c.Subcommands.Count > 0))
            command.SetAction(parse =>
            {
                new HelpAction().Invoke(parse);
                return 0;
            });
        return root;
    }

    /// <summary><paramref name="command"/> and every command under it.</summary>
    static IEnumerable<Command> Commands(Command command) => command.Subcommands.SelectMany(Commands).Prepend(command);

    /// <summary>Runs the command line; bad input ends with one line per error on stderr and a non-zero exit code.</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var parse = Build(["remix", .. args]).Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var message in CommandLineErrors.Messages(parse)) stderr.WriteLine($"remix: {message}");
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
        catch (Runtime.TorchSharpLoadException e)
        {
            stderr.WriteLine($"remix: {e.Message}");
            if (parse.GetValue(Verbose)) stderr.WriteLine(e);
            return 1;
        }
        catch (Exception e) when (Runtime.GlibcxxCompat.ExplainLoadFailure(e) is { } explained)
        {
            // TorchSharp is first touched inside a command; a native load failure the library can name is one line, not a trace.
            stderr.WriteLine($"remix: {explained.Message}");
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
