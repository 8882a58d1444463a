using Remix.Data.Bundled;
using Remix.Training;

namespace Remix.Experiments;

/// <summary>
/// The embedded default experiment behind <c>remix demo</c>: on <c>models/remix-tiny</c>, stage 1
/// memorizes country capitals (D_A), stage 2 learns chemical symbols (a factoid D_B) — or, for one
/// condition, GSM8K-format arithmetic (a non-factoid D_B) — under naive fine-tuning, replay, the
/// three REMIX variants and L2 regularisation. Each stage stops once its own set is fully learned.
/// </summary>
public static class DemoExperiment
{
    /// <summary>The settings that size the demo; <see cref="Quick"/> is the one-minute version.</summary>
    public sealed record Size(int Facts, int NonFactoid, int MaxEpochs, double LearningRate, int BatchSize, double MixRatio, int CurveEvery, int Seeds)
    {
        public static readonly Size Full = new(50, 40, 40, 2e-3, 16, 1.0, 10, 2);
        public static readonly Size Quick = new(24, 12, 25, 3e-3, 8, 1.0, 10, 1);
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
        StageSpec A(params MixSpec[] mix) => new() { Name = "A", Data = [capitals], Limit = size.Facts, Mix = mix, Recipe = recipe };
        StageSpec B(string? data = null, int? limit = null, ReplaySpec? replay = null, RegularizerSpec? regularizer = null, params MixSpec[] mix) =>
            new() { Name = "B", Data = [data ?? symbols], Limit = limit ?? size.Facts, Mix = mix, Replay = replay, Regularizer = regularizer, Recipe = recipe with { EvalEvery = size.CurveEvery } };
        var random = new MixSpec("random", size.MixRatio, words);
        var generic = new MixSpec("generic", size.MixRatio, corpus);
        ExperimentSpec Condition(string name, StageSpec a, StageSpec b) => new()
        {
            Name = name, BaseModel = model, Seeds = [.. Enumerable.Range(0, size.Seeds)], Stages = [a, b],
            Json = System.Text.Json.JsonSerializer.Serialize(new { name, size, a = a.Mix.Select(m => m.Source), b = b.Mix.Select(m => m.Source), replay = b.Replay?.Fraction, regularizer = b.Regularizer?.Type }),
        };
        return
        [
            Condition("naive", A(), B()),
            Condition("replay-10%", A(), B(replay: new ReplaySpec("A", 0.1))),
            Condition("remix-random-stage1", A(random), B()),
            Condition("remix-generic-stage2", A(), B(mix: generic)),
            Condition("remix-both", A(random), B(mix: generic)),
            Condition("l2", A(), B(regularizer: new RegularizerSpec("l2", 1.0))),
            // Worked solutions have no exact-match answer: stage 2 runs a fixed number of epochs instead.
            Condition("naive-nonfactoid-B", A(), B(arithmetic, size.NonFactoid) with { Recipe = recipe with { Epochs = 20, Stop = new StopRule.Epochs(), EvalEvery = size.CurveEvery } }),
        ];
    }
}
