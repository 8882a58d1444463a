using System.Text.Json.Serialization;

namespace Remix.Training;

/// <summary>
/// The fine-tuning recipe. Defaults are the paper's: AdamW (0.9, 0.95, eps 1e-8, no weight decay),
/// lr 5e-5, cosine schedule with 5% warmup, clipping 1.0, batch 32, 20-epoch cap, max length 2,048,
/// data reshuffled every epoch.
/// </summary>
public sealed record TrainingOptions
{
    public double LearningRate { get; init; } = 5e-5;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Epsilon { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.0;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    public double WarmupRatio { get; init; } = 0.05;
    /// <summary>Clip the global gradient norm to this; 0 turns clipping off.</summary>
    public double ClipNorm { get; init; } = 1.0;
    public int BatchSize { get; init; } = 32;
    public int GradientAccumulation { get; init; } = 1;
    public int Epochs { get; init; } = 20;
    public int MaxLength { get; init; } = 2048;
    public int Seed { get; init; } = 0;
    /// <summary>The reference code's quirk: the same data order every epoch. Off: reshuffled each epoch.</summary>
    public bool FixedOrder { get; init; }
    public bool GroupByLength { get; init; }
    public StopRule Stop { get; init; } = new StopRule.Epochs();
    /// <summary>Evaluate the evaluation sets every N optimizer steps (0: only at the end).</summary>
    public int EvalEvery { get; init; }
    /// <summary>Write a checkpoint every N optimizer steps (0: only on interruption).</summary>
    public int SaveEvery { get; init; }
    /// <summary>Keep the checkpoints (with optimizer state) once the training has finished; by default only <c>final/</c> stays.</summary>
    public bool KeepCheckpoints { get; init; }
    /// <summary>
    /// Collect garbage every N steps: TorchSharp's custom autograd nodes (the RMSNorm backward) and any
    /// tensor left to a finalizer hold native memory until the .NET GC runs. Every step keeps the resident
    /// size at one step's worth; a full collection costs under a millisecond here.
    /// </summary>
    public int CollectEvery { get; init; } = 1;
    /// <summary>
    /// How weights, gradients and AdamW moments are kept (<see cref="Precisions"/>); null follows the weights' dtype as
    /// before there were modes: float32 weights train in fp32, 16-bit ones through a float32 master copy. Left out of the
    /// serialized recipe when null, so that a run's fingerprint and a stage's key stay what they were without it.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Precision? Precision { get; init; }

    /// <summary>Checks ranges once, with errors that name the <c>remix train</c> option.</summary>
    public TrainingOptions Validated()
    {
        if (FirstOutOfRange() is { } bad)
            throw new InvalidInputException(Option(bad.Property), $"expected {bad.Expected}, found {(bad.Property is nameof(Beta1) or nameof(Beta2) ? $"{Beta1},{Beta2}" : bad.Found)}");
        return this;
    }

    /// <summary>
    /// The first property (by its C# name) outside its range, what it expects and what it holds; null when all are in
    /// range. One list of ranges for every front end: <see cref="Validated"/> names the option, a spec file its own key.
    /// </summary>
    public (string Property, string Expected, object Found)? FirstOutOfRange()
    {
        (string, string, object)? Check(bool ok, string property, object found) => ok ? null : (property, Expectation(property), found);
        return Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate)
            ?? Check(Beta1 is >= 0 and < 1, nameof(Beta1), Beta1)
            ?? Check(Beta2 is >= 0 and < 1, nameof(Beta2), Beta2)
            ?? Check(Epsilon > 0, nameof(Epsilon), Epsilon)
            ?? Check(WeightDecay >= 0, nameof(WeightDecay), WeightDecay)
            ?? Check(WarmupRatio is >= 0 and <= 1, nameof(WarmupRatio), WarmupRatio)
            ?? Check(ClipNorm >= 0, nameof(ClipNorm), ClipNorm)
            ?? Check(BatchSize >= 1, nameof(BatchSize), BatchSize)
            ?? Check(GradientAccumulation >= 1, nameof(GradientAccumulation), GradientAccumulation)
            ?? Check(Epochs >= 1, nameof(Epochs), Epochs)
            ?? Check(MaxLength >= 2, nameof(MaxLength), MaxLength)
            ?? Check(EvalEvery >= 0, nameof(EvalEvery), EvalEvery)
            ?? Check(SaveEvery >= 0, nameof(SaveEvery), SaveEvery)
            ?? Check(CollectEvery >= 1, nameof(CollectEvery), CollectEvery);
    }

    /// <summary>The range of a numeric property (by its C# name) in words, as "expected ..." says it; also for a value of the wrong type.</summary>
    public static string Expectation(string property) => property switch
    {
        nameof(LearningRate) or nameof(Epsilon) => "a positive number",
        nameof(Beta1) or nameof(Beta2) => "two numbers in [0, 1)",
        nameof(WeightDecay) or nameof(ClipNorm) => "a non-negative number",
        nameof(WarmupRatio) => "a number in [0, 1]",
        nameof(BatchSize) or nameof(GradientAccumulation) or nameof(Epochs) => "a positive integer",
        nameof(MaxLength) => "an integer of at least 2",
        nameof(EvalEvery) or nameof(SaveEvery) => "a non-negative step count",
        nameof(CollectEvery) => "a positive step count",
        _ => throw new ArgumentException($"{property} is not a numeric property of {nameof(TrainingOptions)}", nameof(property)),
    };

    static string Option(string property) => property switch
    {
        nameof(LearningRate) => "--lr",
        nameof(Beta1) or nameof(Beta2) => "--betas",
        nameof(Epsilon) => "--eps",
        nameof(WeightDecay) => "--weight-decay",
        nameof(WarmupRatio) => "--warmup-ratio",
        nameof(ClipNorm) => "--clip",
        nameof(BatchSize) => "--batch-size",
        nameof(GradientAccumulation) => "--grad-accum",
        nameof(Epochs) => "--epochs",
        nameof(MaxLength) => "--max-length",
        nameof(EvalEvery) => "--eval-every",
        nameof(SaveEvery) => "--save-every",
        _ => property,
    };
}
