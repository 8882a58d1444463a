using System.Globalization;
using System.Text;
using Parquet.Schema;
using Remix.Experiments;
using Remix.IO;

namespace Remix.Reporting;

/// <summary>
/// The long-format table of a report: one row per run x stage x evaluated set x metric, with every axis value as a column,
/// written as <c>results.csv</c> and <c>results.parquet</c> (the same rows and columns) for pandas, polars or R as they are.
/// </summary>
/// <remarks>
/// Columns: <c>run</c>, <c>entry</c>, <c>seed</c>, one string column per axis (the value's name), followed by a double
/// column <c>NAME_value</c> where every value of that axis is a number, <c>after_stage</c> (from 1),
/// <c>after_stage_name</c>, <c>set</c>, <c>metric</c>, <c>value</c>. A null cell of a matrix (a score not taken) is no row.
/// </remarks>
public sealed class ResultsTable
{
    /// <summary>The table as CSV in a report's folder.</summary>
    public const string CsvFileName = "results.csv";

    /// <summary>The table as Parquet in a report's folder.</summary>
    public const string ParquetFileName = "results.parquet";

    /// <summary>The columns before the axes.</summary>
    public static readonly IReadOnlyList<string> LeadingColumns = ["run", "entry", "seed"];

    /// <summary>The columns after the axes.</summary>
    public static readonly IReadOnlyList<string> TrailingColumns = ["after_stage", "after_stage_name", "set", "metric", "value"];

    /// <summary>The matrices of results.json, each a metric named by its key without <c>_matrix</c>, in the table's order.</summary>
    static readonly (string Metric, Func<ExperimentResults, IReadOnlyList<IReadOnlyList<double?>>?> Matrix)[] Metrics =
    [
        ("accuracy", r => r.AccuracyMatrix),
        ("token_accuracy", r => r.TokenAccuracyMatrix),
        ("gold_logprob", r => r.GoldLogprobMatrix),
        ("rouge_l", r => r.RougeLMatrix),
        ("score", r => r.ScoreMatrix),
    ];

    /// <summary>
    /// A table of <paramref name="rows"/>, each with one value name per name of <paramref name="axisColumns"/>; an axis
    /// <paramref name="numeric"/> says is numbers (none when null) has its typed column too, of the rows' <see cref="ResultsRow.AxisValues"/>.
    /// </summary>
    public ResultsTable(IReadOnlyList<string> axisColumns, IReadOnlyList<ResultsRow> rows, IReadOnlyList<bool>? numeric = null)
    {
        numeric ??= [.. axisColumns.Select(_ => false)];
        if (numeric.Count != axisColumns.Count) throw new ArgumentException($"{numeric.Count} numeric flags for {axisColumns.Count} axis columns", nameof(numeric));
        AxisColumns = axisColumns;
        NumericAxes = numeric;
        var clash = Columns.FirstOrDefault(c => Columns.Count(o => o == c) > 1);
        if (clash is not null) throw new ArgumentException($"axis column '{clash}' is not a distinct column name", nameof(axisColumns));
        if (rows.FirstOrDefault(r => r.Axes.Count != axisColumns.Count || r.AxisValues.Count != axisColumns.Count) is { } bad)
            throw new ArgumentException($"row of {bad.Entry} has {bad.Axes.Count} axis names and {bad.AxisValues.Count} values for {axisColumns.Count} axis columns", nameof(rows));
        Rows = rows;
    }

    /// <summary>The typed column of the axis column <paramref name="axisColumn"/>, where its values are numbers: <c>ratio_value</c> beside <c>ratio</c>.</summary>
    public static string ValueColumn(string axisColumn) => axisColumn + "_value";

    /// <summary>The names of the axis columns, in order.</summary>
    public IReadOnlyList<string> AxisColumns { get; }

    /// <summary>Whether each axis column has its typed column (<see cref="ValueColumn"/>): its values are all numbers.</summary>
    public IReadOnlyList<bool> NumericAxes { get; }

    /// <summary>The rows, run by run in the report's order.</summary>
    public IReadOnlyList<ResultsRow> Rows { get; }

    /// <summary>Every column name, in order.</summary>
    public IReadOnlyList<string> Columns =>
        [.. LeadingColumns, .. AxisColumns.SelectMany((c, a) => NumericAxes[a] ? new[] { c, ValueColumn(c) } : [c]), .. TrailingColumns];

    /// <summary>
    /// The rows of one run, read from <paramref name="results"/> (its file <paramref name="path"/>, for errors): after each
    /// stage, on each stage's set, each matrix the file has; a matrix of the wrong shape is refused naming the file and field.
    /// </summary>
    public static IEnumerable<ResultsRow> RowsOf(ExperimentResults results, string path, string entry, IReadOnlyList<string?> axes, IReadOnlyList<double?> axisValues)
    {
        var stages = results.Stages;
        var rows = new List<ResultsRow>();
        var matrices = Metrics.Select(m => (m.Metric, Cells: m.Matrix(results))).Where(m => m.Cells is not null).ToList();
        foreach (var (metric, cells) in matrices)
            if (cells!.Count != stages.Count || cells.Any(row => row is null || row.Count != stages.Count))
                throw new InvalidInputException(path, $"{metric}_matrix: expected {stages.Count} x {stages.Count} scores, one per stage");
        for (int after = 0; after < stages.Count; after++)
            for (int set = 0; set < stages.Count; set++)
                foreach (var (metric, cells) in matrices)
                    if (cells![after][set] is { } value)
                        rows.Add(new ResultsRow(results.Name, entry, results.Seed, axes, axisValues, after + 1, stages[after], stages[set], metric, value));
        return rows;
    }

    /// <summary>Writes the table as CSV (RFC 4180: a header line, CRLF line ends, quoted where needed; invariant numbers that read back exactly).</summary>
    public void WriteCsv(string path)
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', Columns.Select(Quote)).Append("\r\n");
        foreach (var r in Rows)
        {
            IEnumerable<string> fields =
            [
                r.Run, r.Entry, r.Seed.ToString(CultureInfo.InvariantCulture),
                .. r.Axes.SelectMany((name, a) => NumericAxes[a] ? new[] { name ?? "", r.AxisValues[a]?.ToString("R", CultureInfo.InvariantCulture) ?? "" } : [name ?? ""]),
                r.AfterStage.ToString(CultureInfo.InvariantCulture), r.AfterStageName, r.Set, r.Metric,
                r.Value.ToString("R", CultureInfo.InvariantCulture),
            ];
            csv.AppendJoin(',', fields.Select(Quote)).Append("\r\n");
        }
        AtomicFile.WriteAllText(path, csv.ToString());
    }

    static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? $"\"{field.Replace("\"", "\"\"")}\"" : field;

    /// <summary>Writes the table as Parquet, one row group, typed columns (strings, int32, double; axis columns nullable strings, their typed columns nullable doubles).</summary>
    public void WriteParquet(string path)
    {
        var run = new DataField<string>("run", false);
        var entry = new DataField<string>("entry", false);
        var seed = new DataField<int>("seed");
        var axes = AxisColumns.Select(c => new DataField<string>(c, true)).ToList();
        var axisValues = AxisColumns.Select((c, a) => NumericAxes[a] ? new DataField<double?>(ValueColumn(c)) : null).ToList();
        var afterStage = new DataField<int>("after_stage");
        var afterStageName = new DataField<string>("after_stage_name", false);
        var set = new DataField<string>("set", false);
        var metric = new DataField<string>("metric", false);
        var value = new DataField<double>("value");
        var schema = new ParquetSchema([run, entry, seed, .. axes.SelectMany((f, a) => axisValues[a] is { } v ? new DataField[] { f, v } : [f]), afterStage, afterStageName, set, metric, value]);
        AtomicFile.Write(path, stream => WriteParquet(stream).GetAwaiter().GetResult());

        async Task WriteParquet(Stream stream)
        {
            var writer = await Parquet.ParquetWriter.CreateAsync(schema, stream);
            using (var group = writer.CreateRowGroup())
            {
                await group.WriteAsync(run, Strings(r => r.Run), null);
                await group.WriteAsync(entry, Strings(r => r.Entry), null);
                await group.WriteAsync<int>(seed, Rows.Select(r => r.Seed).ToArray(), null);
                for (int a = 0; a < axes.Count; a++)
                {
                    await group.WriteAsync(axes[a], Strings(r => r.Axes[a]), null);
                    if (axisValues[a] is { } typed) await group.WriteAsync<double>(typed, Rows.Select(r => r.AxisValues[a]).ToArray(), null);
                }
                await group.WriteAsync<int>(afterStage, Rows.Select(r => r.AfterStage).ToArray(), null);
                await group.WriteAsync(afterStageName, Strings(r => r.AfterStageName), null);
                await group.WriteAsync(set, Strings(r => r.Set), null);
                await group.WriteAsync(metric, Strings(r => r.Metric), null);
                await group.WriteAsync<double>(value, Rows.Select(r => r.Value).ToArray(), null);
            }
            // Writes the footer, without which the file is no Parquet file.
            await writer.DisposeAsync();
        }

        string?[] Strings(Func<ResultsRow, string?> column) => [.. Rows.Select(column)];
    }
}
