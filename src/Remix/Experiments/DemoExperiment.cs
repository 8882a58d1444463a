using Remix.Data.Bundled;
using Remix.Training;

namespace Remix.Experiments;

/// <summary>
/// The embedded default experiment behind <c>remix demo</c>: on <c>models/remix-tiny</c>, stage 1
/// memorizes country capitals (D_A), stage 2 learns chemical symbols (a factoid D_B) — or, for one
/// condition, GSM8K-format arithmetic (a non-factoid D_B) — under naive fine-tuning, replay, the
/// three REMIX variants and L2 regularisation, with joint training on both sets as the upper bound.
/// Each stage stops once its own set is fully learned.
/// Stage 2 runs at a lower learning rate than stage 1: at stage 1's rate it erased D_A under every
/// method, and it also needed more steps to learn D_B (bench/RESULTS.md, "Calibrating the demo").
/// </summary>
public static class DemoExperiment
{
    /// <summary>The settings that size the demo; <see cref="Quick"/> is the short version.</summary>
    public sealed record Size
    {
        public required int Facts { get; init; }
        public required int NonFactoid { get; init; }
        public required int MaxEpochs { get; init; }
        public required double LearningRate { get; init; }
        public required double StageTwoLearningRate { get; init; }
        public required int BatchSize { get; init; }
        public double MixRatio { get; init; } = 1.0;
        /// <summary>Evaluate D_A every this many stage-2 steps (the forgetting curves).</summary>
        public required int CurveEvery { get; init; }
        public required int Seeds { get; init; }

        public static readonly Size Full = new()
        {
            Facts = 40, NonFactoid = 40, MaxEpochs = 40, LearningRate = 2e-3, StageTwoLearningRate = 5e-4, BatchSize = 16, CurveEvery = 10, Seeds = 2,
        };

        public static readonly Size Quick = new()
        {
            Facts = 16, NonFactoid = 12, MaxEpochs = 40, LearningRate = 3e-3, StageTwoLearningRate = 1e-3, BatchSize = 8, CurveEvery = 10, Seeds = 1,
        };
    }

    public static IReadOnlyList<ExperimentSpec> Conditions(Size size)
    {
        string model = Path.GetDirectoryName(BundledPaths.Find("models/remix-tiny/config.json"))!;
        string capitals = BundledPaths.Find("data/facts/country-capital.jsonl");
        string symbols = BundledPaths.Find("data/facts/element-symbol.jsonl");
        string arithmetic = BundledPaths.Find("data/nonfactoid/arithmetic-gsm8k.jsonl");
        string words = BundledPaths.Find(BundledPaths.WordList);
        string corpus = BundledPaths.Find(BundledPaths.GenericCorpus);
        var recipe = new TrainingOptions
        {
            LearningRate = size.LearningRate, BatchSize = size.BatchSize, Epochs = size.MaxEpochs, WarmupRatio = 0.05,
            Stop = new StopRule.AccuracyReached(1.0), MaxLength = 512,
        };
        var stageTwo = recipe with { LearningRate = size.StageTwoLearningRate, EvalEvery = size.CurveEvery };
        StageSpec A(params MixSpec[] mix) => new() { Name = "A", Data = [capitals], Limit = size.Facts, Mix = mix, Recipe = recipe };
        StageSpec B(string? data = null, int? limit = null, ReplaySpec? replay = null, RegularizerSpec? regularizer = null, params MixSpec[] mix) =>
            new() { Name = "B", Data = [data ?? symbols], Limit = limit ?? size.Facts, Mix = mix, Replay = replay, Regularizer = regularizer, Recipe = stageTwo };
        var random = new MixSpec("random", size.MixRatio, words);
        var generic = new MixSpec("generic", size.MixRatio, corpus);
        ExperimentSpec Condition(string name, StageSpec a, StageSpec b, bool joint = false) => new()
        {
            Name = name, BaseModel = model, Seeds = [.. Enumerable.Range(0, size.Seeds)], Stages = [a, b], Joint = joint,
            Json = System.Text.Json.JsonSerializer.Serialize(new { name, size, a = a.Mix.Select(m => m.Source), b = b.Mix.Select(m => m.Source), replay = b.Replay?.Fraction, regularizer = b.Regularizer?.Type, joint }),
        };
        return
        [
            Condition("naive", A(), B()),
            Condition("replay-10%", A(), B(replay: new ReplaySpec("A", 0.1))),
            Condition("remix-random-stage1", A(random), B()),
            Condition("remix-generic-stage2", A(), B(mix: generic)),
            Condition("remix-both", A(random), B(mix: generic)),
            Condition("l2", A(), B(regularizer: new RegularizerSpec("l2", 1.0))),
            // The upper bound: one run on D_A and D_B together (stage 1's recipe), nothing to forget.
            Condition("joint", A(), B(), joint: true),
            // Worked solutions have no exact-match answer: stage 2 runs a fixed number of epochs instead.
            Condition("naive-nonfactoid-B", A(), B(arithmetic, size.NonFactoid) with { Recipe = stageTwo with { Epochs = 20, Stop = new StopRule.Epochs() } }),
        ];
    }
}
