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

    /// <summary>Checks ranges once, with errors that name the option.</summary>
    public TrainingOptions Validated()
    {
        void Check(bool ok, string option, string expected, object found)
        {
            if (!ok) throw new InvalidInputException(option, $"expected {expected}, found {found}");
        }
        Check(LearningRate > 0 && double.IsFinite(LearningRate), "--lr", "a positive number", LearningRate);
        Check(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, "--betas", "two numbers in [0, 1)", $"{Beta1},{Beta2}");
        Check(Epsilon > 0, "--eps", "a positive number", Epsilon);
        Check(WeightDecay >= 0, "--weight-decay", "a non-negative number", WeightDecay);
        Check(WarmupRatio is >= 0 and <= 1, "--warmup-ratio", "a number in [0, 1]", WarmupRatio);
        Check(ClipNorm >= 0, "--clip", "a non-negative number", ClipNorm);
        Check(BatchSize >= 1, "--batch-size", "a positive number", BatchSize);
        Check(GradientAccumulation >= 1, "--grad-accum", "a positive number", GradientAccumulation);
        Check(Epochs >= 1, "--epochs", "a positive number", Epochs);
        Check(MaxLength >= 2, "--max-length", "at least 2", MaxLength);
        Check(EvalEvery >= 0, "--eval-every", "a non-negative step count", EvalEvery);
        Check(SaveEvery >= 0, "--save-every", "a non-negative step count", SaveEvery);
        Check(CollectEvery >= 1, "CollectEvery", "a positive step count", CollectEvery);
        return this;
    }
}
