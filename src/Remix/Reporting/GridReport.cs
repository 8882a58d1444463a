using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.Checkpoints;
using Remix.Experiments;
using Remix.IO;
using Remix.Plotting;

namespace Remix.Reporting;

/// <summary>
/// The report of a grid's plan folder: its finished entries, one row per configuration (an entry's spec without its seed) with
/// the mean, standard deviation and range over seeds, the plots labelled by configuration, and the long table
/// (<see cref="ResultsTable"/>) with an axis column per axis (and its value's, for a numeric axis). Entries not finished are left out and listed.
/// </summary>
/// <remarks>
/// An axis column is named by the last key of its path (<c>ratio</c> for <c>stages[0].mix[0].ratio</c>), as entry ids
/// name it, or by the whole path where two axes share that key or it is the name of one of the table's other columns.
/// A configuration is an entry's resolved spec without its seed: two with the same value name on every axis (a plan extended
/// from another base) are refused rather than mixed into one row, as is one configuration planned twice with a seed.
/// </remarks>
public static class GridReport
{
    /// <summary>
    /// What the report wrote, and the entries it left out (not finished) with the line that says so (null when none);
    /// <see cref="Markdown"/> is report.md (which lists the entries left out), <see cref="Table"/> its table alone.
    /// </summary>
    public sealed record Output(IReadOnlyList<string> AxisColumns, IReadOnlyList<ConfigurationRow> Rows, IReadOnlyList<EntryStatus> LeftOut, string? LeftOutLine,
        string Markdown, string Table, string TablePath, ResultsTable Results, string CsvPath, string ParquetPath, string CurvesPlot, string TokenCurvesPlot, string RetentionPlot,
        string? HtmlPath = null, IReadOnlyList<SizeSeries>? BySize = null, string? BySizePlot = null,
        IReadOnlyList<SizeSeries>? LensBySize = null, string? LensBySizePlot = null, string? MixedComputationLine = null);

    /// <summary>
    /// One line of the plot against model size: the configurations that differ only in their base model (and those bases in
    /// depth), each point a base with D_A's accuracy at the end over the seeds.
    /// </summary>
    public sealed record SizeSeries(string Label, IReadOnlyList<SizePoint> Points);

    /// <summary>A base model of a <see cref="SizeSeries"/>: its value name, parameters outside the embeddings, layers, and the number drawn (D_A at the end; or the lens's depth).</summary>
    public sealed record SizePoint(string Base, long NonEmbeddingParameters, int Layers, SeedSpread Value);

    /// <summary>The axis whose values are base models, which <see cref="SizeSeries"/> draws along.</summary>
    public const string BaseModelAxis = "base_model";

    /// <summary>Whether <paramref name="directory"/> is a grid's plan folder (it holds runs.jsonl).</summary>
    public static bool IsPlanFolder(string directory) => File.Exists(Path.Combine(directory, GridPlan.RunsFileName));

    /// <summary>
    /// Reports the finished entries of the plan folder <paramref name="directory"/> into <paramref name="outDir"/>, and the page
    /// (<see cref="HtmlReport"/>) into <paramref name="html"/> when given; refuses when none is finished.
    /// </summary>
    public static Output Build(string directory, string outDir, string? html = null)
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
        var planned = GridPlan.ReadLines(directory);
        if (planned.Count != entries.Count || planned.Zip(entries).Any(p => p.First.Id != p.Second.Id))
            throw new InvalidInputException(Path.Combine(directory, GridPlan.RunsFileName), "changed while it was read: report again");
        var configuration = planned.Select(p => GridPlan.ConfigurationKey(p.Spec.ToJson())).ToList();
        RefuseMixedConfigurations(directory, entries, configuration, paths);
        var numbers = Numbers(planned, paths);
        var done = entries.Where(e => e.State == EntryState.Done).Select(e =>
        {
            var run = Load(directory, e);
            IReadOnlyList<string?> axes = [.. paths.Select(p => e.Axes.FirstOrDefault(a => a.Path == p).Name)];
            return (Entry: e, Run: run, Axes: axes, Values: numbers[e.Index], Configuration: configuration[e.Index]);
        }).ToList();

        // A configuration is its spec but for the seed; GroupBy keeps the order in which each first comes: the plan's.
        var configurations = done.GroupBy(d => d.Configuration).ToList();
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
                SeedSpread.Of([.. runs.Select(r => r.FirstFinalLogProb)]),
                SeedSpread.Of([.. runs.Select(r => r.FirstSteps)]),
                LensDepths.Of([.. runs.Select(r => r.FirstLensAfterFirst)], [.. runs.Select(r => r.FirstLensAtEnd)]));
        }).ToList();

        var summary = new StringBuilder($"Grid {directory}: {entries.Count - leftOut.Count} of {entries.Count} entries finished, {rows.Count} configuration{(rows.Count == 1 ? "" : "s")}.\n\n");
        if (leftOutLine is not null)
        {
            summary.Append(leftOutLine).Append(":\n\n");
            foreach (var e in leftOut)
                summary.Append($"- {e.Id}: {GridStatus.Describe(e.State)}{(e.Detail is null ? "" : $" ({e.Detail})")}\n");
            summary.Append('\n');
        }
        // Seeds of one configuration trained or evaluated on other thread counts or kernel paths are not one computation repeated.
        var mixed = configurations.Zip(rows).Select(p => (p.Second.Label, Seeds: p.First.Select(d => (d.Entry.Id, d.Run.Computation)).ToList()))
            .Where(c => c.Seeds.Select(s => s.Computation).Distinct().Count() > 1).ToList();
        string? mixedLine = mixed.Count == 0 ? null
            : $"{mixed.Count} configuration{(mixed.Count == 1 ? "" : "s")} mix{(mixed.Count == 1 ? "es" : "")} seeds computed on different thread counts or kernel paths (the arithmetic differs in its last bits; rerun them alike to compare like with like)";
        if (mixedLine is not null)
        {
            summary.Append(mixedLine).Append(":\n\n");
            foreach (var (label, runs) in mixed)
                summary.Append($"- {label}: {Seeds(runs)}\n");
            summary.Append('\n');
        }
        var shown = ShownColumns(columns, paths, entries);
        var summaryTable = Summary(shown, rows);
        var markdownTable = summaryTable.Markdown();
        var firstEntries = configurations.Select(g => g.First().Entry.Index).ToList();
        var bySize = BySize(directory, paths, columns, firstEntries, rows, r => r.FirstFinal);
        var lensBySize = BySize(directory, paths, columns, firstEntries, rows, r => r.Lens?.AfterFirst);
        var md = summary + markdownTable + (bySize is null ? "" : BySizeMarkdown(bySize)) + LensMarkdown(shown, rows);
        Directory.CreateDirectory(outDir);
        var tablePath = Path.Combine(outDir, "report.md");
        AtomicFile.WriteAllText(tablePath, md);

        // One line per configuration: the mean over its seeds in the band from the lowest to the highest (each seed counted to its last step).
        var seeds = configurations.Zip(rows).Select(p => (p.Second.Label, Runs: p.First.Select(d => d.Run).ToList())).ToList();
        var curvesPlot = Path.Combine(outDir, "forgetting-curves.png");
        Plots.Bands(curvesPlot, "Exact-match accuracy on D_A while training stage 2 (mean, min–max over seeds)",
            [.. seeds.Select(f => (f.Label, (IReadOnlyList<(double, double, double, double)>)SeedSpread.Band([.. f.Runs.Select(r => r.Curve)])))]);
        var tokenCurvesPlot = Path.Combine(outDir, "forgetting-curves-answer-tokens.png");
        Plots.Bands(tokenCurvesPlot, "Answer-token accuracy on D_A while training stage 2 (mean, min–max over seeds)",
            [.. seeds.Select(f => (f.Label, (IReadOnlyList<(double, double, double, double)>)SeedSpread.Band([.. f.Runs.Select(r => r.TokenCurve)])))], yLabel: "answer-token accuracy on D_A");
        var retentionPlot = Path.Combine(outDir, "retention.png");
        Plots.Bars(retentionPlot, "D_A accuracy after the last stage (mean, min–max over seeds)", "accuracy on D_A",
            [.. rows.Where(r => r.FirstFinal is not null).Select(r => (r.Label, r.FirstFinal!.Mean, r.FirstFinal.Min, r.FirstFinal.Max))]);

        var bySizePlot = SizePlot(bySize, outDir, "retention-by-size.png", "D_A accuracy after the last stage against the base's size (mean, min–max over seeds)",
            "accuracy on D_A at the end");
        var lensBySizePlot = SizePlot(lensBySize, outDir, "lens-depth-by-size.png",
            "Earliest top-1 layer of D_A's facts after stage 1, as a fraction of depth (mean, min–max over seeds)", "earliest top-1 layer / layers");

        var numeric = paths.Select((_, a) => numbers.Any(n => n[a] is not null)).ToList();
        var table = new ResultsTable(columns, [.. done.SelectMany(d => ResultsTable.RowsOf(d.Run.Results, d.Run.Path, d.Entry.Id, d.Axes, d.Values))], numeric);
        var (csv, parquet) = ExperimentReport.WriteTable(table, outDir);
        if (html is not null)
        {
            var notes = new List<string>();
            if (leftOutLine is not null) notes.AddRange([leftOutLine + ":", .. leftOut.Select(e => $"{e.Id}: {GridStatus.Describe(e.State)}{(e.Detail is null ? "" : $" ({e.Detail})")}")]);
            if (mixedLine is not null) notes.AddRange([mixedLine + ":", .. mixed.Select(c => $"{c.Label}: {Seeds(c.Seeds)}")]);
            HtmlReport.Write(html, $"Grid {directory}: {entries.Count - leftOut.Count} of {entries.Count} entries finished", notes, summaryTable,
                [.. configurations.Zip(rows).Select(p => new HtmlReport.Condition(p.Second.Label, [.. p.First.OrderBy(d => d.Run.Seed).Select(d => (d.Entry.Id, d.Run))]))]);
        }
        return new Output(columns, rows, leftOut, leftOutLine, md, markdownTable, tablePath, table, csv, parquet, curvesPlot, tokenCurvesPlot, retentionPlot, html, bySize, bySizePlot, lensBySize, lensBySizePlot, mixedLine);
    }

    /// <summary>
    /// The rows' <paramref name="value"/> along the base-model axis, when the grid has one with two or more bases (and rows with that value): one line per setting of the other
    /// axes and depth of base (bases of one width but another depth are other lines, not other points; axes zipped under one
    /// value name are labelled by that name alone), its points ordered
    /// by parameters outside the embeddings, read from each base's config.json as the entry's spec resolves it. Null when
    /// the grid has no such axis; a base that cannot be read is refused naming it, as the plot would be of other models.
    /// </summary>
    static List<SizeSeries>? BySize(string directory, IReadOnlyList<string> paths, IReadOnlyList<string> columns, IReadOnlyList<int> firstEntry, IReadOnlyList<ConfigurationRow> rows,
        Func<ConfigurationRow, SeedSpread?> value)
    {
        int axis = paths.ToList().IndexOf(BaseModelAxis);
        if (axis < 0) return null;
        var points = rows.Select((r, i) => (Row: r, Entry: firstEntry[i])).Where(p => p.Row.Axes[axis] is not null && value(p.Row) is not null).Select(p =>
        {
            var model = GridPlan.ReadEntry(directory, p.Entry).Experiment.BaseModel;
            var config = HfCheckpoint.LoadConfig(model);
            var named = columns.Zip(p.Row.Axes).Where((c, a) => a != axis && c.Second is not null).ToList();
            // Axes zipped together under one value name (a method set stage by stage) are that name.
            var others = named.Count > 1 && named.Select(c => c.Second).Distinct().Count() == 1 ? named[0].Second!
                : string.Join(", ", named.Select(c => $"{c.First}={c.Second}"));
            return (Others: others, Point: new SizePoint(p.Row.Axes[axis]!, config.NonEmbeddingParameterCount, config.NumHiddenLayers, value(p.Row)!));
        }).ToList();
        if (points.Select(p => p.Point.Base).Distinct().Count() < 2) return null;
        bool depths = points.Select(p => p.Point.Layers).Distinct().Count() > 1;
        return [.. points.GroupBy(p => (p.Others, Layers: depths ? p.Point.Layers : 0)).OrderBy(g => g.Key.Layers).Select(g =>
        {
            var label = string.Join(", ", new[] { g.Key.Others, depths ? $"{g.Key.Layers} layers" : "" }.Where(t => t != ""));
            return new SizeSeries(label == "" ? "all" : label, [.. g.Select(p => p.Point).OrderBy(p => p.NonEmbeddingParameters)]);
        })];
    }

    /// <summary>Draws <paramref name="series"/> against log10 of the bases' parameters outside the embeddings into <paramref name="file"/>; null (and no file) without series.</summary>
    static string? SizePlot(IReadOnlyList<SizeSeries>? series, string outDir, string file, string title, string yLabel)
    {
        if (series is null) return null;
        var path = Path.Combine(outDir, file);
        Plots.Bands(path, title,
            [.. series.Select(l => (l.Label, (IReadOnlyList<(double, double, double, double)>)[.. l.Points.Select(p => (Math.Log10(p.NonEmbeddingParameters), p.Value.Mean, p.Value.Min, p.Value.Max))]))],
            xLabel: "parameters outside the embeddings (log10)", yLabel: yLabel);
        return path;
    }

    /// <summary>report.md's table of <see cref="BySize"/>: each line's bases by size, D_A at the end with its spread.</summary>
    static string BySizeMarkdown(IReadOnlyList<SizeSeries> series)
    {
        var t = new StringBuilder("\n\n## D_A at the end against the base's size\n\n(retention-by-size.png; parameters outside the embeddings, from each base's config.json)\n\n");
        t.Append("| line | base | non-embedding parameters | layers | seeds | D_A at the end | sd | min–max |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
        foreach (var line in series)
            foreach (var p in line.Points)
                t.Append(CultureInfo.InvariantCulture, $"| {line.Label} | {p.Base} | {p.NonEmbeddingParameters:N0} | {p.Layers} | {p.Value.Count} | {ExperimentReport.P(p.Value.Mean)} | {(p.Value.Count > 1 ? ExperimentReport.P(p.Value.Sd) : "–")} | {ExperimentReport.P(p.Value.Min)}–{ExperimentReport.P(p.Value.Max)} |\n");
        return t.ToString();
    }

    /// <summary>
    /// report.md's table of where the first set's facts sit under the logit lens (<see cref="LensDepths"/>), one row per
    /// configuration whose every seed ran it; empty when none did.
    /// </summary>
    static string LensMarkdown(IReadOnlyList<(string Title, int Axis)> shown, IReadOnlyList<ConfigurationRow> rows)
    {
        var lensRows = rows.Where(r => r.Lens is not null).ToList();
        if (lensRows.Count == 0) return "";
        static string Depth(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
        var groups = new List<(string Title, Func<LensDepths, IEnumerable<SummaryCell>> Cells)>
        {
            ("earliest after its stage", l => Cells(l.AfterFirst, Depth)),
            ("its spread over facts", l => Cells(l.AfterFirstSpread, Depth)),
            ("earliest at the end", l => Cells(l.AtEnd, Depth)),
            ("its spread over facts", l => Cells(l.AtEndSpread, Depth)),
            ("facts top-1 at some layer at the end", l => Cells(l.AtEndReached, ExperimentReport.P)),
        };
        var table = new SummaryTable([.. shown.Select(c => c.Title), "layers", "seeds", .. groups.SelectMany(g => new[] { g.Title, "sd", "min–max" })], shown.Count,
            [.. lensRows.Select(r => (IReadOnlyList<SummaryCell>)[.. AxisCells(shown, r), new($"{r.Lens!.Layers}", r.Lens.Layers),
                new($"{r.Seeds}", r.Seeds), .. groups.SelectMany(g => g.Cells(r.Lens))])]);
        return "\n\n## Where the first set's facts sit under the logit lens\n\n"
            + "Each seed's earliest layer at which a fact's gold first answer token is top-1, as a fraction of the model's depth "
            + "(0: the embedding, 1: the last layer), its mean over the facts that reach top-1 at some layer and its standard deviation "
            + "over them (how varied the layers are), right after the first stage and after the last; then the mean, sd and min–max of each over seeds.\n\n"
            + table.Markdown();
    }

    /// <summary>A configuration's seeds as the list of differently computed ones reads: each entry with how it was computed.</summary>
    static string Seeds(IEnumerable<(string Id, string? Computation)> seeds) =>
        string.Join("; ", seeds.Select(r => $"{r.Id} ({r.Computation ?? "not recorded"})"));

    /// <summary>A finished entry's run, whose results must be of the seed runs.jsonl planned for it.</summary>
    static ReportedRun Load(string directory, EntryStatus entry)
    {
        var path = Path.Combine(GridStatus.RunDirectory(directory, entry.Id), ExperimentResults.FileName);
        var run = ReportedRun.Load(path);
        if (run.Seed != entry.Seed)
            throw new InvalidInputException(path, $"seed: {run.Seed}, but {GridPlan.RunsFileName} plans entry {entry.Id} with seed {entry.Seed}");
        return run;
    }

    /// <summary>
    /// Refuses a plan whose rows would mix runs: two configurations with the same value name on every axis (their rows could
    /// not be told apart), or one configuration with a seed twice (its spread would count that run twice).
    /// </summary>
    static void RefuseMixedConfigurations(string directory, IReadOnlyList<EntryStatus> entries, IReadOnlyList<string> configuration, IReadOnlyList<string> paths)
    {
        var runs = Path.Combine(directory, GridPlan.RunsFileName);
        var seen = new Dictionary<string, EntryStatus>();
        foreach (var e in entries)
        {
            var names = string.Join('\u001f', paths.Select(p => e.Axes.FirstOrDefault(a => a.Path == p).Name ?? "\0"));
            if (seen.TryGetValue(names, out var other) && configuration[other.Index] != configuration[e.Index])
                throw new InvalidInputException(runs, $"entries {other.Id} and {e.Id} have the same value name on every axis but differ in their spec outside the axes (was the plan extended from another base?): their rows would mix; plan them into separate folders");
            seen.TryAdd(names, e);
        }
        foreach (var group in entries.GroupBy(e => configuration[e.Index]))
            if (group.GroupBy(e => e.Seed).FirstOrDefault(s => s.Count() > 1) is { } twice)
                throw new InvalidInputException(runs, $"entries {string.Join(" and ", twice.Select(e => e.Id))} are one configuration (the same spec, the seed apart) and both of seed {twice.Key}: its row would count that seed twice");
    }

    /// <summary>
    /// Each entry's value on each axis as a number, for the axes whose every value is a JSON number; null elsewhere (an axis
    /// of files or objects, or one the entry lacks).
    /// </summary>
    static IReadOnlyList<IReadOnlyList<double?>> Numbers(IReadOnlyList<PlannedLine> planned, IReadOnlyList<string> paths)
    {
        static JsonNode? ValueOf(PlannedLine line, string path) => line.Axes.FirstOrDefault(a => a.Path == path).Value;
        var numeric = paths.Select(p => planned.Where(e => e.Axes.Any(a => a.Path == p))
            .All(e => ValueOf(e, p) is JsonValue v && v.GetValueKind() == JsonValueKind.Number)).ToList();
        return [.. planned.Select(e => (IReadOnlyList<double?>)[.. paths.Select((p, a) => numeric[a] && ValueOf(e, p) is { } v
            ? double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture) : (double?)null)])];
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
        // A key that is another's typed column (lr_value beside lr) is taken too.
        bool Taken(string name) => ResultsTable.LeadingColumns.Contains(name) || ResultsTable.TrailingColumns.Contains(name)
            || keys.Any(k => ResultsTable.ValueColumn(k) == name);
        return [.. paths.Select((p, i) => keys.Count(k => k == keys[i]) > 1 || Taken(keys[i]) ? p : keys[i])];
    }

    static string Counts(IEnumerable<EntryStatus> entries) =>
        string.Join(", ", entries.GroupBy(e => e.State).OrderBy(g => g.Key).Select(g => $"{g.Count()} {GridStatus.Describe(g.Key)}"));

    /// <summary>The rows as the CLI prints them: per number its mean, sd and min–max; "–" for what one seed has not (an sd) or some seed lacks.</summary>
    static SummaryTable Summary(IReadOnlyList<(string Title, int Axis)> shown, IReadOnlyList<ConfigurationRow> rows)
    {
        bool tokens = rows.Any(r => r.FirstFinalTokens is not null), logProbs = rows.Any(r => r.FirstFinalLogProb is not null);
        var groups = new List<(string Title, Func<ConfigurationRow, IEnumerable<SummaryCell>> Cells)>
        {
            ("first set after its stage", r => Cells(r.FirstAfterFirst, ExperimentReport.P)),
        };
        // Where the run folders hold stage 1's log: how many steps its set (with its mixing) took.
        if (rows.Any(r => r.FirstSteps is not null)) groups.Add(("its stage's steps", r => Cells(r.FirstSteps, v => v.ToString("F0", CultureInfo.InvariantCulture))));
        groups.Add(("first set at the end", r => Cells(r.FirstFinal, ExperimentReport.P)));
        if (tokens) groups.Add(("its answer tokens at the end", r => Cells(r.FirstFinalTokens, ExperimentReport.P)));
        if (logProbs) groups.Add(("its gold log-prob at the end", r => Cells(r.FirstFinalLogProb, ExperimentReport.F)));
        groups.Add(("forgetting", r => Cells(r.Forgetting, ExperimentReport.F)));
        groups.Add(("last set at the end", r => r.LastIsRouge ? Cells(r.LastFinal, ExperimentReport.F, "ROUGE-L ") : Cells(r.LastFinal, ExperimentReport.P)));
        return new SummaryTable([.. shown.Select(c => c.Title), "seeds", .. groups.SelectMany(g => new[] { g.Title, "sd", "min–max" })], shown.Count,
            [.. rows.Select(r => (IReadOnlyList<SummaryCell>)[.. AxisCells(shown, r), new($"{r.Seeds}", r.Seeds), .. groups.SelectMany(g => g.Cells(r))])]);
    }

    /// <summary>A row's value name in each of the <paramref name="shown"/> columns ("–" where its entries lack the axis).</summary>
    static IEnumerable<SummaryCell> AxisCells(IReadOnlyList<(string Title, int Axis)> shown, ConfigurationRow row) =>
        shown.Select(c => new SummaryCell(row.Axes[c.Axis] ?? "–"));

    /// <summary>
    /// The axis columns the wide tables show: axes that take the same value name in every planned entry (zipped together, a
    /// method set stage by stage) as one column titled by their names joined with " + ", the others as they are; each with the
    /// index of its first axis. Axes of one value are never joined, so only axes that vary together are.
    /// </summary>
    static IReadOnlyList<(string Title, int Axis)> ShownColumns(IReadOnlyList<string> columns, IReadOnlyList<string> paths, IReadOnlyList<EntryStatus> entries)
    {
        string?[][] names = [.. entries.Select(e => paths.Select(p => e.Axes.FirstOrDefault(a => a.Path == p).Name).ToArray())];
        bool Together(int a, int b) => names.All(n => n[a] == n[b]) && names.Select(n => n[a]).Distinct().Count() > 1;
        var taken = new bool[paths.Count];
        var shown = new List<(string, int)>();
        for (int a = 0; a < paths.Count; a++)
        {
            if (taken[a]) continue;
            var group = Enumerable.Range(a, paths.Count - a).Where(b => b == a || (!taken[b] && Together(a, b))).ToList();
            foreach (var b in group) taken[b] = true;
            shown.Add((string.Join(" + ", group.Select(b => columns[b])), a));
        }
        return shown;
    }

    /// <summary>Mean, sd and min–max (the cell sorts by the minimum); "–" for what one seed has not (an sd) or some seed lacks.</summary>
    static IEnumerable<SummaryCell> Cells(SeedSpread? s, Func<double, string> format, string prefix = "") => s is null
        ? [new("–"), new("–"), new("–")]
        : [new(prefix + format(s.Mean), s.Mean), double.IsNaN(s.Sd) ? new("–") : new(format(s.Sd), s.Sd), new($"{format(s.Min)}–{format(s.Max)}", s.Min)];
}
