using System.Globalization;
using System.Text;
using Remix.Experiments;
using Remix.IO;
using Remix.Plotting;

namespace Remix.Reporting;

/// <summary>
/// Aggregates finished runs (any folders holding <c>results.json</c>) into one table — per run name,
/// the mean over seeds and the spread (min–max) — and two plots: accuracy on the first stage's set
/// during the second stage, and its final retention by run.
/// </summary>
public static class ExperimentReport
{
    /// <summary>
    /// One line of the report, means over seeds; <see cref="LastFinal"/> is ROUGE-L when the last set has
    /// no gold answers. The answer-token accuracy and gold log-probability of the first set at the end
    /// are NaN for runs recorded without them.
    /// </summary>
    public sealed record Row(string Name, int Seeds, double FirstAfterFirst, double FirstFinal, double FirstFinalMin, double FirstFinalMax, double Forgetting, double LastFinal, bool LastIsRouge = false)
    {
        public double FirstFinalTokens { get; init; } = double.NaN;
        public double FirstFinalTokensMin { get; init; } = double.NaN;
        public double FirstFinalTokensMax { get; init; } = double.NaN;
        public double FirstFinalLogProb { get; init; } = double.NaN;
    }

    /// <summary>What a report wrote: its rows, report.md (as text and its path), the long table (<see cref="ResultsTable"/>) as CSV and Parquet, the plots, and the page (<see cref="HtmlReport"/>) where one was asked for.</summary>
    public sealed record Output(IReadOnlyList<Row> Rows, string Markdown, string TablePath, string CurvesPlot, string RetentionPlot, string TokenCurvesPlot,
        ResultsTable Results, string CsvPath, string ParquetPath, string? HtmlPath = null);

    /// <summary>
    /// Reads every results.json under the directories; rows follow <paramref name="order"/> (run names), then the rest by name.
    /// The long table's <c>entry</c> is each run folder relative to the directory it was found under (that directory's name when it is the run folder).
    /// With <paramref name="html"/>, the page (<see cref="HtmlReport"/>) is written there too.
    /// </summary>
    public static Output Build(IEnumerable<string> directories, string outDir, IReadOnlyList<string>? order = null, string? html = null)
    {
        foreach (var d in directories)
        {
            if (!Directory.Exists(d)) throw new InvalidInputException(d, "directory not found");
            RefuseGridFolder(d);
        }
        var results = directories.SelectMany(d => Directory.EnumerateFiles(d, ExperimentResults.FileName, SearchOption.AllDirectories).Select(file => (Root: d, File: file)))
            .OrderBy(r => r.File, StringComparer.Ordinal).ToList();
        if (results.Count == 0) throw new InvalidInputException(string.Join(", ", directories), "no results.json found (finished runs have one)");
        RefuseRunFolder(outDir);
        var runs = results.Select(r => ReportedRun.Load(r.File)).ToList();
        int Rank(string name) => order is null || !order.Contains(name) ? int.MaxValue : order.ToList().IndexOf(name);
        var rows = runs.GroupBy(r => r.Name).OrderBy(g => Rank(g.Key)).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var tokens = g.Select(r => r.FirstFinalTokens).ToList();
            return new Row(
                g.Key, g.Count(),
                g.Average(r => r.Matrix[0][0]),
                g.Average(r => r.Matrix[^1][0]), g.Min(r => r.Matrix[^1][0]), g.Max(r => r.Matrix[^1][0]),
                g.Average(r => r.Forgetting),
                g.Average(r => r.LastScoredByRouge ? r.Rouge![^1][^1] : r.Matrix[^1][^1]),
                g.First().LastScoredByRouge)
            {
                FirstFinalTokens = tokens.Average(), FirstFinalTokensMin = tokens.Min(), FirstFinalTokensMax = tokens.Max(),
                FirstFinalLogProb = g.Average(r => r.FirstFinalLogProb),
            };
        }).ToList();

        var summary = Summary(rows);
        var md = summary.Markdown();
        Directory.CreateDirectory(outDir);
        var table = Path.Combine(outDir, "report.md");
        AtomicFile.WriteAllText(table, md);

        // One line per run name: the mean over its seeds in the band from the lowest to the highest (each seed counted to its last step).
        var byName = runs.GroupBy(r => r.Name).ToList();
        var curvesPlot = Path.Combine(outDir, "forgetting-curves.png");
        Plots.Bands(curvesPlot, "Exact-match accuracy on D_A while training stage 2 (mean, min–max over seeds)",
            [.. byName.Select(g => (g.Key, (IReadOnlyList<(double, double, double, double)>)SeedSpread.Band([.. g.Select(r => r.Curve)])))]);
        var tokenCurvesPlot = Path.Combine(outDir, "forgetting-curves-answer-tokens.png");
        Plots.Bands(tokenCurvesPlot, "Answer-token accuracy on D_A while training stage 2 (mean, min–max over seeds)",
            [.. byName.Select(g => (g.Key, (IReadOnlyList<(double, double, double, double)>)SeedSpread.Band([.. g.Select(r => r.TokenCurve)])))], yLabel: "answer-token accuracy on D_A");
        var retentionPlot = Path.Combine(outDir, "retention.png");
        Plots.Bars(retentionPlot, "D_A accuracy after the last stage (mean, min–max over seeds)", "accuracy on D_A", [.. rows.Select(r => (r.Name, r.FirstFinal, r.FirstFinalMin, r.FirstFinalMax))]);

        // In the rows' order, each name's runs by folder.
        var ordered = results.Zip(runs).OrderBy(p => rows.FindIndex(r => r.Name == p.Second.Name)).ToList();
        var longTable = new ResultsTable([], [.. ordered.SelectMany(p => ResultsTable.RowsOf(p.Second.Results, p.Second.Path, Entry(p.First.Root, p.First.File), [], []))]);
        var (csv, parquet) = WriteTable(longTable, outDir);
        if (html is not null)
            HtmlReport.Write(html, $"Remix report: {string.Join(", ", rows.Select(r => r.Name))}", [], summary,
                [.. rows.Select(r => new HtmlReport.Condition(r.Name, [.. ordered.Where(p => p.Second.Name == r.Name).OrderBy(p => p.Second.Seed).Select(p => (Entry(p.First.Root, p.First.File), p.Second))]))]);
        return new Output(rows, md, table, curvesPlot, retentionPlot, tokenCurvesPlot, longTable, csv, parquet, html);
    }

    /// <summary>The rows as the CLI prints them: a percentage with its range over seeds, "–" for what a run was recorded without.</summary>
    static SummaryTable Summary(IReadOnlyList<Row> rows) => new(
        ["run", "seeds", "first set after its stage", "first set at the end (min–max)", "its answer tokens at the end (min–max)", "its gold log-prob at the end", "forgetting", "last set at the end"], 1,
        [.. rows.Select(r => (IReadOnlyList<SummaryCell>)
        [
            new(r.Name), new($"{r.Seeds}", r.Seeds), new(P(r.FirstAfterFirst), r.FirstAfterFirst),
            new($"{P(r.FirstFinal)} ({P(r.FirstFinalMin)}–{P(r.FirstFinalMax)})", r.FirstFinal),
            double.IsNaN(r.FirstFinalTokens) ? new("–") : new($"{P(r.FirstFinalTokens)} ({P(r.FirstFinalTokensMin)}–{P(r.FirstFinalTokensMax)})", r.FirstFinalTokens),
            double.IsNaN(r.FirstFinalLogProb) ? new("–") : new(F(r.FirstFinalLogProb), r.FirstFinalLogProb),
            new(F(r.Forgetting), r.Forgetting), new(r.LastIsRouge ? "ROUGE-L " + F(r.LastFinal) : P(r.LastFinal), r.LastFinal),
        ])]);

    static string Entry(string root, string resultsFile)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(resultsFile))!;
        var relative = Path.GetRelativePath(Path.GetFullPath(root), folder);
        return relative == "." ? Path.GetFileName(folder) : relative.Replace('\\', '/');
    }

    /// <summary>Writes the long table beside report.md; returns the CSV's and the Parquet file's paths.</summary>
    internal static (string Csv, string Parquet) WriteTable(ResultsTable table, string outDir)
    {
        var csv = Path.Combine(outDir, ResultsTable.CsvFileName);
        var parquet = Path.Combine(outDir, ResultsTable.ParquetFileName);
        table.WriteCsv(csv);
        table.WriteParquet(parquet);
        return (csv, parquet);
    }

    /// <summary>
    /// Refuses a folder inside a grid's plan folder (an entry's run, its runs/) or holding one: a plain report groups runs by
    /// their results' name, which every entry of a grid shares, so it would mix the whole grid into one row.
    /// </summary>
    static void RefuseGridFolder(string directory)
    {
        // Up the path as given (so that the plan folder is named as the user would), then up from the working folder.
        var given = Path.TrimEndingDirectorySeparator(directory);
        var ancestors = new List<string>();
        for (var up = Path.GetDirectoryName(given); !string.IsNullOrEmpty(up); up = Path.GetDirectoryName(up)) ancestors.Add(up);
        if (!Path.IsPathRooted(given))
            for (var up = Path.GetFullPath(ancestors.Count > 0 ? ancestors[^1] : given); Path.GetDirectoryName(up) is { } parent; up = parent)
                ancestors.Add(parent);
        if (ancestors.FirstOrDefault(GridReport.IsPlanFolder) is { } plan)
            throw new InvalidInputException(directory, $"lies inside the grid plan folder {plan} (it holds {GridPlan.RunsFileName}), whose entries a plain report would lump into one row: report the grid with remix report {plan}");
        if (Directory.EnumerateFiles(directory, GridPlan.RunsFileName, SearchOption.AllDirectories).FirstOrDefault() is { } runs)
        {
            var inner = Path.GetDirectoryName(runs)!;
            throw new InvalidInputException(directory, $"holds the grid plan folder {inner} (it holds {GridPlan.RunsFileName}), whose entries a plain report would lump into one row: report each grid on its own, remix report {inner}");
        }
    }

    /// <summary>A run folder's own results.csv (its matrix) must not be replaced by a report's long table.</summary>
    internal static void RefuseRunFolder(string outDir)
    {
        if (File.Exists(Path.Combine(outDir, ExperimentResults.FileName)))
            throw new InvalidInputException(outDir, $"is a run folder (it holds {ExperimentResults.FileName}), whose {ResultsTable.CsvFileName} the report's would replace: pass --out to write the report elsewhere");
    }

    internal static string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    internal static string P(double v) => v.ToString("P0", CultureInfo.InvariantCulture);
}
