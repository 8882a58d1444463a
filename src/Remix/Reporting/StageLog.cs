using System.Text.Json.Nodes;
using Remix.Training;

namespace Remix.Reporting;

/// <summary>What a stage's metrics.jsonl says to a report: how many steps the stage trained and its evaluations of earlier sets.</summary>
/// <param name="Steps">The stage's last logged step.</param>
/// <param name="Evaluations">Its <c>eval/SET</c> lines in order (the memorized set's evaluations, for a stop rule, left out).</param>
public sealed record StageLog(int Steps, IReadOnlyList<StageEvaluation> Evaluations)
{
    /// <summary>The metrics log's file name in a stage folder.</summary>
    public const string FileName = "metrics.jsonl";

    /// <summary>The log of the stage folder <paramref name="stageDir"/>, or null when it has none (a stage trained elsewhere, or not yet).</summary>
    public static StageLog? Read(string stageDir)
    {
        var path = Path.Combine(stageDir, FileName);
        if (!File.Exists(path)) return null;
        List<JsonObject> lines;
        try
        {
            lines = MetricsLog.Read(path);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidInputException(path, $"expected one JSON object a line: {e.Message.Split('\n')[0]}");
        }
        static double Number(JsonNode? n) => n is null ? double.NaN : n.GetValue<double>();
        var evaluations = new List<StageEvaluation>();
        int steps = 0;
        foreach (var m in lines)
        {
            int step = m["step"]?.GetValue<int>() ?? 0;
            steps = Math.Max(steps, step);
            if ((string?)m["kind"] is not { } kind || !kind.StartsWith("eval/", StringComparison.Ordinal) || kind == "eval/memorized") continue;
            Dictionary<string, (bool, double)>? facts = null;
            if (m["fact_ids"] is JsonArray ids && m["fact_correct"] is JsonArray correct && m["fact_gold_logprob"] is JsonArray logProbs)
            {
                if (correct.Count != ids.Count || logProbs.Count != ids.Count)
                    throw new InvalidInputException(path, $"step {step}, {kind}: {ids.Count} fact_ids but {correct.Count} fact_correct and {logProbs.Count} fact_gold_logprob");
                facts = [];
                for (int f = 0; f < ids.Count; f++) facts[ids[f]!.GetValue<string>()] = (correct[f]!.GetValue<bool>(), Number(logProbs[f]));
            }
            evaluations.Add(new StageEvaluation(step, kind["eval/".Length..], Number(m["accuracy"]), Number(m["token_accuracy"]), Number(m["gold_logprob"]), facts));
        }
        return new StageLog(steps, evaluations);
    }
}
