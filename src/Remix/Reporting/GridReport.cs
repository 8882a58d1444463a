using System.Text;
using Remix.Experiments;
using Remix.IO;

namespace Remix.Reporting;

/// <summary>
/// The report of a grid's plan folder: its finished entries, one row per configuration (the axes without the seeds) with
/// the mean, standard deviation and range over seeds, the plots labelled by configuration, and the long table
/// (<see cref="ResultsTable"/>) with an axis column per axis. Entries not finished are left out and listed.
/// </summary>
/// <remarks>
/// An axis column is named by the last key of its path (<c>ratio</c> for <c>stages[0].mix[0].ratio</c>), as entry ids
/// name it, or by the whole path where two axes share that key or it is the name of one of the table's other columns.
/// </remarks>
public static class GridReport
{
    /// <summary>
    /// What the report wrote, and the entries it left out (not finished) with the line that says so (null when none);
    /// <see cref="Markdown"/> is report.md (which lists the entries left out), <see cref="Table"/> its table alone.
    /// </summary>
    public sealed record Output(IReadOnlyList<string> AxisColumns, IReadOnlyList<ConfigurationRow> Rows, IReadOnlyList<EntryStatus> LeftOut, string? LeftOutLine,
        string Markdown, string Table, string TablePath, ResultsTable Results, string CsvPath, string ParquetPath, string CurvesPlot, string TokenCurvesPlot, string RetentionPlot);

    /// <summary>Whether <paramref name="directory"/> is a grid's plan folder (it holds runs.jsonl).</summary>
    public static bool IsPlanFolder(string directory) => File.Exists(Path.Combine(directory, GridPlan.RunsFileName));

    /// <summary>Reports the finished entries of the plan folder <paramref name="directory"/> into <paramref name="outDir"/>; refuses when none is finished.</summary>
    public static Output Build(string directory, string outDir)
    {
        var entries = GridStatus.Read(directory);
        var leftOut = entries.Where(e => e.State != EntryState.Done).ToList();
        if (entries.Count == 0) throw new InvalidInputException(Path.Combine(directory, GridPlan.RunsFileName), "no entries: nothing to report");
        if (leftOut.Count == entries.Count)
            throw new InvalidInputException(directory, $"no entry finished yet ({Counts(leftOut)} of {entries.Count}): nothing to report");
        string? leftOutLine = leftOut.Count == 0 ? null : $"{leftOut.Count} of {entries.Count} entries not finished ({Counts(leftOut)}): left out";
        ExperimentReport.RefuseRunFolder(outDir);

        // Every axis any entry has (an extended plan's older entries may lack a newer axis), the seeds apart: they are the rows' spread.
        var paths = entries.SelectMany(e => e.Axes.Select(a => a.Path)).Where(p => p != GridSpec.SeedsAxis).Distinct().ToList();
        var columns = ColumnNames(paths);
        var done = entries.Where(e => e.State == EntryState.Done).Select(e =>
        {
            var run = Load(directory, e);
            IReadOnlyList<string?> axes = [.. paths.Select(p => e.Axes.FirstOrDefault(a => a.Path == p).Name)];
            return (Entry: e, Run: run, Axes: axes);
        }).ToList();

        // GroupBy keeps the order in which each configuration first comes: the plan's.
        var configurations = done.GroupBy(d => string.Join('\u001f', d.Axes.Select(a => a ?? "\0"))).ToList();
        var rows = configurations.Select(g =>
        {
            var runs = g.Select(d => d.Run).ToList();
            var axes = g.First().Axes;
            var label = string.Join(", ", columns.Zip(axes).Where(c => c.Second is not null).Select(c => $"{c.First}={c.Second}"));
            if (label == "") label = runs[0].Name; // a grid of seeds alone
            return new ConfigurationRow(axes, label, [.. g.Select(d => d.Entry.Id)],
                SeedSpread.Of([.. runs.Select(r => r.Matrix[0][0])]),
                SeedSpread.Of([.. runs.Select(r => r.Matrix[^1][0])]),
                SeedSpread.Of([.. runs.Select(r => r.Forgetting)]),
                SeedSpread.Of([.. runs.Select(r => r.LastFinal)]),
                runs[0].LastScoredByRouge,
                SeedSpread.Of([.. runs.Select(r => r.FirstFinalTokens)]),
                SeedSpread.Of([.. runs.Select(r => r.FirstFinalLogProb)]));
        }).ToList();

        var summary = new StringBuilder($"Grid {directory}: {entries.Count - leftOut.Count} of {entries.Count} entries finished, {rows.Count} configuration{(rows.Count == 1 ? "" : "s")}.\n\n");
        if (leftOutLine is not null)
        {
            summary.Append(leftOutLine).Append(":\n\n");
            foreach (var e in leftOut)
                summary.Append($"- {e.Id}: {GridStatus.Describe(e.State)}{(e.Detail is null ? "" : $" ({e.Detail})")}\n");
            summary.Append('\n');
        }
        var markdownTable = Markdown(columns, rows);
        var md = summary + markdownTable;
        Directory.CreateDirectory(outDir);
        var tablePath = Path.Combine(outDir, "report.md");
        AtomicFile.WriteAllText(tablePath, md);

        // One curve per configuration: its first seed's (seeds stop stage 2 at different steps).
        var first = configurations.Zip(rows).Select(p => (p.Second.Label, Run: p.First.Select(d => d.Run).OrderBy(r => r.Seed).First())).ToList();
        var curvesPlot = Path.Combine(outDir, "forgetting-curves.png");
        Plots.Curves(curvesPlot, "Exact-match accuracy on D_A while training stage 2 (first seed)",
            first.ToDictionary(f => f.Label, f => (IReadOnlyList<(double, double)>)f.Run.Curve));
        var tokenCurvesPlot = Path.Combine(outDir, "forgetting-curves-answer-tokens.png");
        Plots.Curves(tokenCurvesPlot, "Answer-token accuracy on D_A while training stage 2 (first seed)",
            first.ToDictionary(f => f.Label, f => (IReadOnlyList<(double, double)>)f.Run.TokenCurve), yLabel: "answer-token accuracy on D_A");
        var retentionPlot = Path.Combine(outDir, "retention.png");
        Plots.Bars(retentionPlot, "D_A accuracy after the last stage (mean over seeds)", "accuracy on D_A",
            [.. rows.Where(r => r.FirstFinal is not null).Select(r => (r.Label, r.FirstFinal!.Mean))]);

        var table = new ResultsTable(columns, [.. done.SelectMany(d => ResultsTable.RowsOf(d.Run.Results, d.Run.Path, d.Entry.Id, d.Axes))]);
        var (csv, parquet) = ExperimentReport.WriteTable(table, outDir);
        return new Output(columns, rows, leftOut, leftOutLine, md, markdownTable, tablePath, table, csv, parquet, curvesPlot, tokenCurvesPlot, retentionPlot);
    }

    /// <summary>A finished entry's run, whose results must be of the seed runs.jsonl planned for it.</summary>
    static ReportedRun Load(string directory, EntryStatus entry)
    {
        var path = Path.Combine(GridStatus.RunDirectory(directory, entry.Id), ExperimentResults.FileName);
        var run = ReportedRun.Load(path);
        if (run.Seed != entry.Seed)
            throw new InvalidInputException(path, $"seed: {run.Seed}, but {GridPlan.RunsFileName} plans entry {entry.Id} with seed {entry.Seed}");
        return run;
    }

    /// <summary>Each axis path's column: its last key, or the whole path where that key is not a distinct column name.</summary>
    internal static IReadOnlyList<string> ColumnNames(IReadOnlyList<string> paths)
    {
        static string LastKey(string path)
        {
            var key = path;
            while (key.EndsWith(']') && key.LastIndexOf('[') is var open and > 0) key = key[..open];
            return key[(key.LastIndexOf('.') + 1)..];
        }
        var keys = paths.Select(LastKey).ToList();
        bool Taken(string name) => ResultsTable.LeadingColumns.Contains(name) || ResultsTable.TrailingColumns.Contains(name);
        return [.. paths.Select((p, i) => keys.Count(k => k == keys[i]) > 1 || Taken(keys[i]) ? p : keys[i])];
    }

    static string Counts(IEnumerable<EntryStatus> entries) =>
        string.Join(", ", entries.GroupBy(e => e.State).OrderBy(g => g.Key).Select(g => $"{g.Count()} {GridStatus.Describe(g.Key)}"));

    static string Markdown(IReadOnlyList<string> columns, IReadOnlyList<ConfigurationRow> rows)
    {
        var md = new StringBuilder();
        bool tokens = rows.Any(r => r.FirstFinalTokens is not null), logProbs = rows.Any(r => r.FirstFinalLogProb is not null);
        var groups = new List<(string Title, Func<ConfigurationRow, string> Cells)>
        {
            ("first set after its stage", r => Percent(r.FirstAfterFirst)),
            ("first set at the end", r => Percent(r.FirstFinal)),
        };
        if (tokens) groups.Add(("its answer tokens at the end", r => Percent(r.FirstFinalTokens)));
        if (logProbs) groups.Add(("its gold log-prob at the end", r => Fixed(r.FirstFinalLogProb)));
        groups.Add(("forgetting", r => Fixed(r.Forgetting)));
        groups.Add(("last set at the end", r => r.LastIsRouge ? Fixed(r.LastFinal, "ROUGE-L ") : Percent(r.LastFinal)));
        md.Append("| ").AppendJoin(" | ", columns.Select(Escape)).Append(" | seeds | ")
          .AppendJoin(" | ", groups.Select(g => $"{g.Title} | sd | min–max")).Append(" |\n")
          .Append('|').Append(string.Concat(Enumerable.Repeat("---|", columns.Count))).Append("---:|")
          .Append(string.Concat(Enumerable.Repeat("---:|---:|---:|", groups.Count))).Append('\n');
        foreach (var r in rows)
            md.Append("| ").AppendJoin(" | ", r.Axes.Select(a => a is null ? "–" : Escape(a))).Append($" | {r.Seeds} | ")
              .AppendJoin(" | ", groups.Select(g => g.Cells(r))).Append(" |\n");
        return md.ToString();
    }

    /// <summary>Mean, sd and min–max as percentages; "–" for what one seed has not (an sd) or some seed lacks.</summary>
    static string Percent(SeedSpread? s) => Cells(s, ExperimentReport.P, "");

    static string Fixed(SeedSpread? s, string prefix = "") => Cells(s, ExperimentReport.F, prefix);

    static string Cells(SeedSpread? s, Func<double, string> format, string prefix) => s is null
        ? "– | – | –"
        : $"{prefix}{format(s.Mean)} | {(double.IsNaN(s.Sd) ? "–" : format(s.Sd))} | {format(s.Min)}–{format(s.Max)}";

    static string Escape(string cell) => cell.Replace("|", "\\|");
}
