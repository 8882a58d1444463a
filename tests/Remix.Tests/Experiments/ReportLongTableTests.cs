using System.Globalization;
using Parquet;
using Parquet.Schema;
using Remix.Experiments;
using Remix.Reporting;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

public class ReportLongTableTests
{
    /// <summary>Two stages; a name that needs quoting in CSV, a double that needs 17 digits, and null cells (no rows).</summary>
    static ExperimentResults Sample() => new()
    {
        Name = "naive, \"v2\"", Seed = 3, Stages = ["A", "B"], ScoredBy = ["accuracy", "accuracy"],
        AccuracyMatrix = [[1.0, 0.0], [0.1 + 0.2, null]],
        GoldLogprobMatrix = [[-0.01, -4.0], [-1.0 / 3, null]],
        Forgetting = new Dictionary<string, double> { ["A"] = 0.7, ["B"] = 0 },
    };

    static string WriteSample(TempDir dir)
    {
        var runDir = dir.File("runs/naive/seed-3");
        Directory.CreateDirectory(runDir);
        Sample().Write(Path.Combine(runDir, "results.json"));
        return runDir;
    }

    [Fact]
    public void LongTable_OfAHandWrittenResultsFile_HasOneRowPerCellAndMetric_AndNoRowForANullCell()
    {
        using var dir = new TempDir();
        WriteSample(dir);

        var report = ExperimentReport.Build([dir.File("runs")], dir.File("out"));

        const string run = "naive, \"v2\"", entry = "naive/seed-3";
        (int, string, string, string, double)[] expected =
        [
            (1, "A", "A", "accuracy", 1.0), (1, "A", "A", "gold_logprob", -0.01),
            (1, "A", "B", "accuracy", 0.0), (1, "A", "B", "gold_logprob", -4.0),
            (2, "B", "A", "accuracy", 0.1 + 0.2), (2, "B", "A", "gold_logprob", -1.0 / 3),
        ];
        Assert.Equal(["run", "entry", "seed", "after_stage", "after_stage_name", "set", "metric", "value"], report.Results.Columns);
        Assert.All(report.Results.Rows, r => Assert.Equal((run, entry, 3, 0), (r.Run, r.Entry, r.Seed, r.Axes.Count)));
        Assert.Equal(expected, report.Results.Rows.Select(r => (r.AfterStage, r.AfterStageName, r.Set, r.Metric, r.Value)));
        Assert.Equal(
            "run,entry,seed,after_stage,after_stage_name,set,metric,value\r\n" +
            "\"naive, \"\"v2\"\"\",naive/seed-3,3,1,A,A,accuracy,1\r\n" +
            "\"naive, \"\"v2\"\"\",naive/seed-3,3,1,A,A,gold_logprob,-0.01\r\n" +
            "\"naive, \"\"v2\"\"\",naive/seed-3,3,1,A,B,accuracy,0\r\n" +
            "\"naive, \"\"v2\"\"\",naive/seed-3,3,1,A,B,gold_logprob,-4\r\n" +
            "\"naive, \"\"v2\"\"\",naive/seed-3,3,2,B,A,accuracy,0.30000000000000004\r\n" +
            "\"naive, \"\"v2\"\"\",naive/seed-3,3,2,B,A,gold_logprob,-0.3333333333333333\r\n",
            File.ReadAllText(report.CsvPath));
        Assert.Equal(dir.File("out/results.parquet"), report.ParquetPath);
    }

    [Fact]
    public async Task LongTable_ParquetReadBack_EqualsTheCsvRows_AndTheResultsMatrices()
    {
        using var dir = new TempDir();
        var runDir = WriteSample(dir);
        var report = ExperimentReport.Build([dir.File("runs")], dir.File("out"));

        var parquet = await ReadParquet(report.ParquetPath);
        var csv = ReadCsv(report.CsvPath);

        Assert.Equal(csv[0], parquet.Columns);
        Assert.Equal(csv.Skip(1).Select(row => string.Join('\u001f', row)), parquet.Rows.Select(row => string.Join('\u001f', row.Select(Text))));
        // Against results.json read afresh: each row is its matrix's cell, and every non-null cell is a row.
        var results = ExperimentResults.Read(Path.Combine(runDir, "results.json"));
        var matrices = new Dictionary<string, IReadOnlyList<IReadOnlyList<double?>>> { ["accuracy"] = results.AccuracyMatrix, ["gold_logprob"] = results.GoldLogprobMatrix! };
        int Column(string name) => parquet.Columns.IndexOf(name);
        foreach (var row in parquet.Rows)
        {
            var (after, set, metric, value) = ((int)row[Column("after_stage")]!, (string)row[Column("set")]!, (string)row[Column("metric")]!, (double)row[Column("value")]!);
            Assert.Equal(matrices[metric][after - 1][results.Stages.ToList().IndexOf(set)], value);
            Assert.Equal((results.Name, results.Seed, results.Stages[after - 1]), ((string)row[Column("run")]!, (int)row[Column("seed")]!, (string)row[Column("after_stage_name")]!));
        }
        Assert.Equal(matrices.Values.Sum(m => m.Sum(r => r.Count(v => v is not null))), parquet.Rows.Count);
        Assert.Equal([typeof(string), typeof(string), typeof(int), typeof(int), typeof(string), typeof(string), typeof(string), typeof(double)], parquet.Types);
    }

    static string Text(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    /// <summary>Every column of the file's row groups, read by Parquet.Net by its own types.</summary>
    internal static async Task<(List<string> Columns, List<Type> Types, List<object?[]> Rows)> ReadParquet(string path)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        var fields = reader.Schema.GetDataFields();
        var rows = new List<object?[]>();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var columns = new List<object?[]>();
            foreach (var field in fields)
            {
                int n = (int)group.RowCount;
                if (TypeOf(field) == typeof(string))
                {
                    var values = new string?[n];
                    await group.ReadAsync(field, values.AsMemory(), null);
                    columns.Add(values);
                }
                else if (field.ClrType == typeof(int))
                {
                    var values = new int[n];
                    await group.ReadAsync<int>(field, values.AsMemory(), null);
                    columns.Add([.. values.Cast<object?>()]);
                }
                else if (field.IsNullable)
                {
                    var values = new double?[n];
                    await group.ReadAsync<double>(field, values.AsMemory(), null);
                    columns.Add([.. values.Cast<object?>()]);
                }
                else
                {
                    var values = new double[n];
                    await group.ReadAsync<double>(field, values.AsMemory(), null);
                    columns.Add([.. values.Cast<object?>()]);
                }
            }
            for (int r = 0; r < group.RowCount; r++) rows.Add([.. columns.Select(c => c[r])]);
        }
        return ([.. fields.Select(f => f.Name)], [.. fields.Select(TypeOf)], rows);
    }

    /// <summary>The column's type; Parquet.Net reads UTF-8 strings as character memory.</summary>
    static Type TypeOf(DataField field) => field.ClrType == typeof(ReadOnlyMemory<char>) ? typeof(string) : field.ClrType;

    /// <summary>An RFC 4180 reader: fields split on commas outside quotes, "" an escaped quote, records ended by CRLF.</summary>
    internal static List<List<string>> ReadCsv(string path)
    {
        var text = File.ReadAllText(path);
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { record.Add(field.ToString()); field.Clear(); }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                record.Add(field.ToString()); field.Clear();
                records.Add(record); record = [];
                i++;
            }
            else field.Append(c);
        }
        Assert.True(record.Count == 0 && field.Length == 0, "the CSV ends with a CRLF");
        return records;
    }
}
