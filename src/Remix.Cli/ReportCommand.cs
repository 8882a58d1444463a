using System.CommandLine;
using Remix.Reporting;

namespace Remix.Cli;

/// <summary><c>remix report DIR...</c>: one table and the plots for any finished runs.</summary>
public static class ReportCommand
{
    public static Command Build()
    {
        var dirs = new Argument<string[]>("DIR") { Description = "Run directories, or folders holding them", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out") { Description = "Where report.md and the plots go (default: the first DIR)" };
        var command = new Command("report", "Aggregate finished runs into one table (mean and spread over seeds) and PNG plots") { dirs, output };
        command.SetAction(parse =>
        {
            var list = parse.GetValue(dirs)!;
            var report = ExperimentReport.Build(list, parse.GetValue(output) ?? list[0]);
            var o = parse.InvocationConfiguration.Output;
            o.Write(report.Markdown);
            o.WriteLine($"table: {report.TablePath}");
            o.WriteLine($"plots: {report.CurvesPlot}, {report.TokenCurvesPlot}, {report.RetentionPlot}");
            return 0;
        });
        return command;
    }
}
