using System.CommandLine;
using Remix.Reporting;

namespace Remix.Cli;

/// <summary>
/// <c>remix report DIR...</c>: one table, the long table (CSV and Parquet) and the plots for any finished runs, or for the
/// finished entries of a grid's plan folder.
/// </summary>
public static class ReportCommand
{
    public static Command Build()
    {
        var dirs = new Argument<string[]>("DIR") { Description = "Run directories, or folders holding them; or one grid plan folder (it holds runs.jsonl)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out") { Description = "Where report.md, results.csv, results.parquet and the plots go (default: the first DIR)" };
        var html = new Option<string?>("--html") { Description = "Also write the report as one self-contained HTML page here (works offline: summary table, accuracy matrices, forgetting curves, retention, every fact, logit lens, provenance; default: none)" };
        var command = new Command("report", "Aggregate finished runs (or a grid's finished entries) into one table (mean and spread over seeds), a long table (CSV, Parquet), PNG plots and, with --html, one HTML page") { dirs, output, html };
        command.SetAction(parse =>
        {
            var list = parse.GetValue(dirs)!;
            var outDir = parse.GetValue(output) ?? list[0];
            var o = parse.InvocationConfiguration.Output;
            if (list.FirstOrDefault(GridReport.IsPlanFolder) is { } plan)
            {
                if (list.Length > 1) throw new InvalidInputException(plan, "is a grid plan folder, reported on its own: remix report " + plan);
                var grid = GridReport.Build(plan, outDir, parse.GetValue(html));
                if (grid.LeftOutLine is not null) o.WriteLine(grid.LeftOutLine + $" (listed in {grid.TablePath})");
                if (grid.MixedComputationLine is not null) o.WriteLine(grid.MixedComputationLine + $" (listed in {grid.TablePath})");
                o.Write(grid.Table);
                Paths(o, grid.TablePath, grid.CsvPath, grid.ParquetPath, [grid.CurvesPlot, grid.TokenCurvesPlot, grid.RetentionPlot, .. grid.BySizePlot is { } bySize ? new[] { bySize } : [], .. grid.LensBySizePlot is { } lens ? new[] { lens } : []], grid.HtmlPath);
                return 0;
            }
            var report = ExperimentReport.Build(list, outDir, html: parse.GetValue(html));
            o.Write(report.Markdown);
            Paths(o, report.TablePath, report.CsvPath, report.ParquetPath, [report.CurvesPlot, report.TokenCurvesPlot, report.RetentionPlot], report.HtmlPath);
            return 0;
        });
        return command;
    }

    static void Paths(TextWriter o, string table, string csv, string parquet, string[] plots, string? html)
    {
        o.WriteLine($"table: {table}");
        o.WriteLine($"results: {csv}, {parquet}");
        o.WriteLine($"plots: {string.Join(", ", plots)}");
        if (html is not null) o.WriteLine($"page: {html}");
    }
}
