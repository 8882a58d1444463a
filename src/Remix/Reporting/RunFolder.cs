using System.Text.Json.Nodes;
using Remix.Analysis;
using Remix.Evaluation;
using Remix.Experiments;
using Remix.Runtime;

namespace Remix.Reporting;

/// <summary>
/// What report.html reads from a finished run's folder beyond its results.json: each stage's metrics log, the predictions after
/// each stage, the logit lens where it was run, the spec snapshot, the stage keys' file hashes and the provenance; and, in
/// <see cref="Missing"/>, what the folder does not hold (an older run, a stage trained elsewhere), said rather than made up.
/// </summary>
internal sealed class RunFolder
{
    public required ReportedRun Run { get; init; }

    /// <summary>The run folder.</summary>
    public required string Directory { get; init; }

    /// <summary>Per stage (from 0), its metrics log, or null where the folder has none.</summary>
    public required IReadOnlyList<StageLog?> Logs { get; init; }

    /// <summary>[after stage i][set]: the predictions behind R[i][j].</summary>
    public required IReadOnlyDictionary<(int After, string Set), IReadOnlyDictionary<string, PredictionRecord>> Predictions { get; init; }

    /// <summary>[after stage i][set]: the logit lens, where the spec asked for it.</summary>
    public required IReadOnlyDictionary<(int After, string Set), LensResult> Lens { get; init; }

    /// <summary>The sessions of provenance.json, oldest first.</summary>
    public required IReadOnlyList<JsonObject> Sessions { get; init; }

    /// <summary>config.json, the spec as the run resolved it; null where absent.</summary>
    public required string? Config { get; init; }

    /// <summary>The content hashes the stage keys record (base model files, data files), by stage.</summary>
    public required IReadOnlyList<(string Stage, string Part, string Value)> Hashes { get; init; }

    /// <summary>Lines saying what this folder lacks that the page would show.</summary>
    public required IReadOnlyList<string> Missing { get; init; }

    /// <summary>The logit lens a stage folder holds on <paramref name="set"/> (the spec's <c>logit_lens: true</c>), or null when it has none.</summary>
    internal static LensResult? ReadLens(string stageDirectory, string set)
    {
        var csv = Path.Combine(stageDirectory, "logit-lens", set, $"{LensReport.FileName(set)}.csv");
        return File.Exists(csv) ? LensReport.ReadCsv(csv, set) : null;
    }

    public static RunFolder Load(ReportedRun run)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(run.Path))!;
        var stages = run.Results.Stages;
        var missing = new List<string>();
        string Stage(int i) => run.Results.Joint ? RunLayout.StageDirectory(dir, 1, "joint") : RunLayout.StageDirectory(dir, i + 1, stages[i]);
        var logs = Enumerable.Range(0, stages.Count).Select(i => run.Results.Joint && i > 0 ? null : StageLog.Read(Stage(i))).ToList();
        for (int i = 1; i < stages.Count && !run.Results.Joint; i++)
        {
            if (logs[i] is null) missing.Add($"{Path.GetFileName(Stage(i))}/{StageLog.FileName} is missing: no curve during stage {stages[i]}");
            else if (logs[i]!.Evaluations.Count > 0 && logs[i]!.Evaluations.All(e => e.Facts is null))
                missing.Add($"{Path.GetFileName(Stage(i))}/{StageLog.FileName} records no fact-by-fact evaluations (written before Remix recorded them): the step at which a fact was lost and its log-probability during stage {stages[i]} are not shown");
        }
        var predictions = new Dictionary<(int, string), IReadOnlyDictionary<string, PredictionRecord>>();
        var lens = new Dictionary<(int, string), LensResult>();
        for (int i = 0; i < stages.Count; i++)
            foreach (var set in stages)
            {
                var file = run.Results.PredictionsAfterStage?.GetValueOrDefault(stages[i])?.GetValueOrDefault(set) is { } relative
                    ? Path.Combine(dir, relative) : Path.Combine(Stage(i), $"eval-{set}.predictions.jsonl");
                if (File.Exists(file)) predictions[(i, set)] = Evaluator.ReadPredictions(file).GroupBy(p => p.Id).ToDictionary(g => g.Key, g => g.First());
                if (ReadLens(Stage(i), set) is { } result) lens[(i, set)] = result;
            }
        if (predictions.Count == 0) missing.Add("no predictions files: the facts' answers are not shown");
        var hashes = new List<(string, string, string)>();
        for (int i = 0; i < stages.Count; i++)
            if (StageKey.Read(Path.Combine(Stage(i), StageKey.FileName)) is { } key)
                hashes.AddRange(key.Parts.Where(p => p.Value.Contains("sha256:", StringComparison.Ordinal)).Select(p => (stages[i], p.Key, p.Value)));
        var sessions = RunProvenance.ReadSessions(dir);
        if (sessions.Count == 0) missing.Add($"no {RunProvenance.FileName}: machine, code version and wall time not recorded");
        var config = Path.Combine(dir, "config.json");
        return new RunFolder
        {
            Run = run, Directory = dir, Logs = logs, Predictions = predictions, Lens = lens, Sessions = sessions,
            Config = File.Exists(config) ? File.ReadAllText(config) : null, Hashes = hashes, Missing = missing,
        };
    }

    /// <summary>
    /// Set <paramref name="set"/>'s curve over the stages after its own, on one step axis (each later stage's steps after the
    /// ones before): the score <paramref name="score"/> picks, starting from R[set's stage][set]; empty where nothing was logged.
    /// </summary>
    public List<(double X, double Y)> Curve(int set, Func<StageEvaluation, double> score, double[][]? matrix)
    {
        var points = new List<(double, double)>();
        if (matrix is null || Run.Results.Joint) return points;
        double offset = 0;
        for (int k = set + 1; k < Logs.Count; k++)
        {
            if (Logs[k] is not { } log) return points;
            if (!double.IsNaN(matrix[k - 1][set])) points.Add((offset, matrix[k - 1][set]));
            foreach (var e in log.Evaluations.Where(e => e.Set == Run.Results.Stages[set]))
                if (!double.IsNaN(score(e))) points.Add((offset + e.Step, score(e)));
            offset += log.Steps;
        }
        return points;
    }

    /// <summary>The steps of each stage after <paramref name="set"/>'s, where their logs say.</summary>
    public IEnumerable<double> StageStarts(int set)
    {
        double offset = 0;
        for (int k = set + 1; k < Logs.Count && Logs[k] is { } log; k++)
        {
            yield return offset;
            offset += log.Steps;
        }
    }
}
