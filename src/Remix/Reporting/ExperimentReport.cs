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

    public sealed record Output(IReadOnlyList<Row> Rows, string Markdown, string TablePath, string CurvesPlot, string RetentionPlot, string TokenCurvesPlot);

    /// <summary>Reads every results.json under the directories; rows follow <paramref name="order"/> (run names), then the rest by name.</summary>
    public static Output Build(IEnumerable<string> directories, string outDir, IReadOnlyList<string>? order = null)
    {
        var results = directories.SelectMany(d => Directory.Exists(d)
                ? Directory.EnumerateFiles(d, "results.json", SearchOption.AllDirectories)
                : throw new InvalidInputException(d, "directory not found"))
            .Order(StringComparer.Ordinal).ToList();
        if (results.Count == 0) throw new InvalidInputException(string.Join(", ", directories), "no results.json found (finished runs have one)");
        var runs = results.Select(Load).ToList();
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

        var md = new StringBuilder("| run | seeds | first set after its stage | first set at the end (min–max) | its answer tokens at the end (min–max) | its gold log-prob at the end | forgetting | last set at the end |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var r in rows)
            md.Append($"| {r.Name} | {r.Seeds} | {P(r.FirstAfterFirst)} | {P(r.FirstFinal)} ({P(r.FirstFinalMin)}–{P(r.FirstFinalMax)}) | ")
              .Append(double.IsNaN(r.FirstFinalTokens) ? "–" : $"{P(r.FirstFinalTokens)} ({P(r.FirstFinalTokensMin)}–{P(r.FirstFinalTokensMax)})").Append(" | ")
              .Append(double.IsNaN(r.FirstFinalLogProb) ? "–" : F(r.FirstFinalLogProb)).Append(" | ")
              .Append($"{F(r.Forgetting)} | {(r.LastIsRouge ? "ROUGE-L " + F(r.LastFinal) : P(r.LastFinal))} |\n");
        Directory.CreateDirectory(outDir);
        var table = Path.Combine(outDir, "report.md");
        AtomicFile.WriteAllText(table, md.ToString());

        // One curve per run name: its first seed's (seeds stop stage 2 at different steps).
        var first = runs.GroupBy(r => r.Name).Select(g => g.OrderBy(r => r.Seed).First()).ToList();
        var curvesPlot = Path.Combine(outDir, "forgetting-curves.png");
        Plots.Curves(curvesPlot, "Exact-match accuracy on D_A while training stage 2 (first seed)",
            first.ToDictionary(r => r.Name, r => (IReadOnlyList<(double, double)>)r.Curve));
        var tokenCurvesPlot = Path.Combine(outDir, "forgetting-curves-answer-tokens.png");
        Plots.Curves(tokenCurvesPlot, "Answer-token accuracy on D_A while training stage 2 (first seed)",
            first.ToDictionary(r => r.Name, r => (IReadOnlyList<(double, double)>)r.TokenCurve), yLabel: "answer-token accuracy on D_A");
        var retentionPlot = Path.Combine(outDir, "retention.png");
        Plots.Bars(retentionPlot, "D_A accuracy after the last stage", "accuracy on D_A", [.. rows.Select(r => (r.Name, r.FirstFinal))]);
        return new Output(rows, md.ToString(), table, curvesPlot, retentionPlot, tokenCurvesPlot);
    }

    static string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    static string P(double v) => v.ToString("P0", CultureInfo.InvariantCulture);

    sealed record Run(string Name, int Seed, double[][] Matrix, double[][]? Rouge, bool LastScoredByRouge, double Forgetting,
        double FirstFinalTokens, double FirstFinalLogProb, List<(double Step, double Accuracy)> Curve, List<(double Step, double Accuracy)> TokenCurve);

    static double[][]? Matrix(IReadOnlyList<IReadOnlyList<double?>>? m) =>
        m is null ? null : [.. m.Select(row => row.Select(v => v ?? double.NaN).ToArray())];

    static Run Load(string path)
    {
        var results = Experiments.ExperimentResults.Read(path);
        var stages = results.Stages;
        var matrix = Matrix(results.AccuracyMatrix)!;
        var tokens = Matrix(results.TokenAccuracyMatrix);
        var logProbs = Matrix(results.GoldLogprobMatrix);
        if (stages.Count == 0 || matrix.Length != stages.Count || matrix.Any(row => row.Length != stages.Count))
            throw new InvalidInputException(path, $"accuracy_matrix: expected {stages.Count} x {stages.Count} scores, one per stage");
        if (!results.Forgetting.TryGetValue(stages[0], out double forgetting))
            throw new InvalidInputException(path, $"forgetting: expected a value for stage '{stages[0]}'");
        var curve = new List<(double, double)> { (0, matrix[0][0]) };
        var tokenCurve = tokens is null ? new List<(double, double)>() : [(0, tokens[0][0])];
        var runDir = Path.GetDirectoryName(path)!;
        var stage2 = stages.Count > 1 ? Experiments.ExperimentRunner.StageDirectory(runDir, 2, stages[1]) : null;
        if (stage2 is not null && File.Exists(Path.Combine(stage2, "metrics.jsonl")))
            foreach (var m in MetricsLog.Read(Path.Combine(stage2, "metrics.jsonl")))
                if ((string?)m["kind"] == $"eval/{stages[0]}")
                {
                    curve.Add(((double)m["step"]!, (double)m["accuracy"]!));
                    if (m["token_accuracy"] is { } t) tokenCurve.Add(((double)m["step"]!, (double)t));
                }
        var rouge = Matrix(results.RougeLMatrix);
        bool lastByRouge = rouge is not null && results.ScoredBy is { Count: > 0 } scoredBy && scoredBy[^1] == "rouge_l";
        return new Run(results.Name, results.Seed, matrix, rouge, lastByRouge, forgetting,
            tokens?[^1][0] ?? double.NaN, logProbs?[^1][0] ?? double.NaN, curve, tokenCurve);
    }
}
