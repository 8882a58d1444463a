using System.Globalization;
using System.Text;
using System.Text.Json;
using Remix.IO;
using Remix.Training;

namespace Remix.Reporting;

/// <summary>
/// Aggregates finished runs (any folders holding <c>results.json</c>) into one table — per run name,
/// the mean over seeds and the spread (min–max) — and two plots: accuracy on the first stage's set
/// during the second stage, and its final retention by run.
/// </summary>
public static class ExperimentReport
{
    /// <summary>One line of the report; <see cref="LastFinal"/> is ROUGE-L when the last set has no gold answers.</summary>
    public sealed record Row(string Name, int Seeds, double FirstAfterFirst, double FirstFinal, double FirstFinalMin, double FirstFinalMax, double Forgetting, double LastFinal, bool LastIsRouge = false);

    public sealed record Output(IReadOnlyList<Row> Rows, string Markdown, string TablePath, string CurvesPlot, string RetentionPlot);

    public static Output Build(IEnumerable<string> directories, string outDir)
    {
        var results = directories.SelectMany(d => Directory.Exists(d)
                ? Directory.EnumerateFiles(d, "results.json", SearchOption.AllDirectories)
                : throw new InvalidInputException(d, "directory not found"))
            .Order(StringComparer.Ordinal).ToList();
        if (results.Count == 0) throw new InvalidInputException(string.Join(", ", directories), "no results.json found (finished runs have one)");
        var runs = results.Select(Load).ToList();
        var rows = runs.GroupBy(r => r.Name).Select(g => new Row(
            g.Key, g.Count(),
            g.Average(r => r.Matrix[0][0]),
            g.Average(r => r.Matrix[^1][0]), g.Min(r => r.Matrix[^1][0]), g.Max(r => r.Matrix[^1][0]),
            g.Average(r => r.Forgetting),
            g.Average(r => r.LastScoredByRouge ? r.Rouge![^1][^1] : r.Matrix[^1][^1]),
            g.First().LastScoredByRouge)).ToList();

        var md = new StringBuilder("| run | seeds | first set after its stage | first set at the end (min–max) | forgetting | last set at the end |\n|---|---:|---:|---:|---:|---:|\n");
        foreach (var r in rows)
            md.Append($"| {r.Name} | {r.Seeds} | {P(r.FirstAfterFirst)} | {P(r.FirstFinal)} ({P(r.FirstFinalMin)}–{P(r.FirstFinalMax)}) | {r.Forgetting.ToString("F2", CultureInfo.InvariantCulture)} | {(r.LastIsRouge ? "ROUGE-L " + r.LastFinal.ToString("F2", CultureInfo.InvariantCulture) : P(r.LastFinal))} |\n");
        Directory.CreateDirectory(outDir);
        var table = Path.Combine(outDir, "report.md");
        AtomicFile.WriteAllText(table, md.ToString());

        var curves = runs.GroupBy(r => r.Name).ToDictionary(g => g.Key, g => (IReadOnlyList<(double, double)>)g.First().Curve);
        var curvesPlot = Path.Combine(outDir, "forgetting-curves.png");
        Plots.Curves(curvesPlot, "Accuracy on D_A while training stage 2", curves);
        var retentionPlot = Path.Combine(outDir, "retention.png");
        Plots.Bars(retentionPlot, "D_A accuracy after the last stage", "accuracy on D_A", [.. rows.Select(r => (r.Name, r.FirstFinal))]);
        return new Output(rows, md.ToString(), table, curvesPlot, retentionPlot);
    }

    static string P(double v) => v.ToString("P0", CultureInfo.InvariantCulture);

    sealed record Run(string Name, double[][] Matrix, double[][]? Rouge, bool LastScoredByRouge, double Forgetting, List<(double Step, double Accuracy)> Curve);

    static Run Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        var stages = root.GetProperty("stages").EnumerateArray().Select(s => s.GetString()!).ToList();
        var matrix = root.GetProperty("accuracy_matrix").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        double forgetting = root.GetProperty("forgetting").GetProperty(stages[0]).GetDouble();
        var curve = new List<(double, double)> { (0, matrix[0][0]) };
        var runDir = Path.GetDirectoryName(path)!;
        if (stages.Count > 1 && Directory.EnumerateDirectories(runDir, "stage-2-*").FirstOrDefault() is { } stage2
            && File.Exists(Path.Combine(stage2, "metrics.jsonl")))
            foreach (var m in MetricsLog.Read(Path.Combine(stage2, "metrics.jsonl")))
                if ((string?)m["kind"] == $"eval/{stages[0]}")
                    curve.Add(((double)m["step"]!, (double)m["accuracy"]!));
        var rouge = root.TryGetProperty("rouge_l_matrix", out var rm) ? rm.EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray() : null;
        bool lastByRouge = rouge is not null && root.TryGetProperty("scored_by", out var sb) && sb[sb.GetArrayLength() - 1].GetString() == "rouge_l";
        return new Run(root.GetProperty("name").GetString()!, matrix, rouge, lastByRouge, forgetting, curve);
    }
}
