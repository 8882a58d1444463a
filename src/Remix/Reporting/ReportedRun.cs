using Remix.Analysis;
using Remix.Experiments;
using Remix.Runtime;

namespace Remix.Reporting;

/// <summary>
/// One finished run as the reports read it: its results.json, the summary numbers the tables show and the first set's
/// curve during the second stage (from that stage's metrics log).
/// </summary>
internal sealed record ReportedRun(string Path, ExperimentResults Results, double[][] Matrix, double[][]? Rouge, bool LastScoredByRouge, double Forgetting,
    double FirstFinalTokens, double FirstFinalLogProb, List<(double Step, double Accuracy)> Curve, List<(double Step, double Accuracy)> TokenCurve,
    double FirstSteps = double.NaN, LensResult? FirstLensAfterFirst = null, LensResult? FirstLensAtEnd = null, string? Computation = null)
{
    public string Name => Results.Name;

    public int Seed => Results.Seed;

    /// <summary>The last set at the end, by its own score (ROUGE-L for a set without gold answers).</summary>
    public double LastFinal => LastScoredByRouge ? Rouge![^1][^1] : Matrix[^1][^1];

    static double[][]? Scores(IReadOnlyList<IReadOnlyList<double?>>? m) =>
        m is null ? null : [.. m.Select(row => row.Select(v => v ?? double.NaN).ToArray())];

    /// <summary>Reads <paramref name="path"/> (a results.json) and the second stage's metrics log beside it, when there is one.</summary>
    public static ReportedRun Load(string path)
    {
        var results = ExperimentResults.Read(path);
        var stages = results.Stages;
        var matrix = Scores(results.AccuracyMatrix)!;
        var tokens = Scores(results.TokenAccuracyMatrix);
        var logProbs = Scores(results.GoldLogprobMatrix);
        if (stages.Count == 0 || matrix.Length != stages.Count || matrix.Any(row => row.Length != stages.Count))
            throw new InvalidInputException(path, $"accuracy_matrix: expected {stages.Count} x {stages.Count} scores, one per stage");
        if (!results.Forgetting.TryGetValue(stages[0], out double forgetting))
            throw new InvalidInputException(path, $"forgetting: expected a value for stage '{stages[0]}'");
        var curve = new List<(double, double)> { (0, matrix[0][0]) };
        var tokenCurve = tokens is null ? new List<(double, double)>() : [(0, tokens[0][0])];
        var runDir = System.IO.Path.GetDirectoryName(path)!;
        var stage2 = stages.Count > 1 ? StageLog.Read(RunLayout.StageDirectory(runDir, 2, stages[1])) : null;
        foreach (var e in stage2?.Evaluations.Where(e => e.Set == stages[0]) ?? [])
        {
            curve.Add((e.Step, e.Accuracy));
            if (!double.IsNaN(e.TokenAccuracy)) tokenCurve.Add((e.Step, e.TokenAccuracy));
        }
        var rouge = Scores(results.RougeLMatrix);
        bool lastByRouge = rouge is not null && results.ScoredBy is { Count: > 0 } scoredBy && scoredBy[^1] == "rouge_l";
        // The first stage's optimizer steps (how long its set took to learn, with its mixing), when its log is in the run folder.
        var stage1Dir = results.Joint ? null : RunLayout.StageDirectory(runDir, 1, stages[0]);
        var stage1 = stage1Dir is null ? null : StageLog.Read(stage1Dir);
        // The first set under the logit lens right after its stage and after the last, where the spec ran it.
        var lensAfterFirst = stage1Dir is null ? null : RunFolder.ReadLens(stage1Dir, stages[0]);
        var lensAtEnd = stage1Dir is null ? null : RunFolder.ReadLens(RunLayout.StageDirectory(runDir, stages.Count, stages[^1]), stages[0]);
        var stageDirs = results.Joint ? [RunLayout.StageDirectory(runDir, 1, "joint")] : stages.Select((s, i) => RunLayout.StageDirectory(runDir, i + 1, s));
        return new ReportedRun(path, results, matrix, rouge, lastByRouge, forgetting,
            tokens?[^1][0] ?? double.NaN, logProbs?[^1][0] ?? double.NaN, curve, tokenCurve, stage1?.Steps ?? double.NaN, lensAfterFirst, lensAtEnd,
            ComputationOf(stageDirs));
    }

    /// <summary>
    /// How the stages in <paramref name="stageDirs"/> were computed, as their provenance records it: each distinct thread count
    /// and kernel path of their sessions ("1 thread, auto (CPU kernels, 512-bit vectors)"), joined by "; "; null when none is recorded.
    /// On the CPU these change the arithmetic in its last bits (the reductions split by thread, the vector width), so seeds
    /// computed differently are not the same computation repeated.
    /// </summary>
    static string? ComputationOf(IEnumerable<string> stageDirs)
    {
        var ways = stageDirs.Where(Directory.Exists).SelectMany(RunProvenance.ReadSessions).Select(s =>
        {
            var threads = s["threads"]?.ToString();
            var kernels = s["kernels"]?.ToString();
            return string.Join(", ", new[] { threads is null ? null : $"{threads} thread{(threads == "1" ? "" : "s")}", kernels }.Where(p => p is not null));
        }).Where(w => w != "").Distinct().ToList();
        return ways.Count == 0 ? null : string.Join("; ", ways);
    }
}
