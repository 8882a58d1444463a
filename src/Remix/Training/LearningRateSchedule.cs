namespace Remix.Training;

/// <summary>The shapes of learning-rate schedule the trainer offers.</summary>
public enum ScheduleKind { Cosine, Linear, Constant }

/// <summary>
/// Linear warmup over the first ceil(ratio × total) steps, then cosine (or linear) decay to zero at
/// the last step, as transformers' <c>get_cosine_schedule_with_warmup</c> computes it.
/// </summary>
public sealed record LearningRateSchedule(double PeakLearningRate, int TotalSteps, double WarmupRatio, ScheduleKind Kind = ScheduleKind.Cosine)
{
    public int WarmupSteps => (int)Math.Ceiling(TotalSteps * WarmupRatio);

    /// <summary>The learning rate for the update that follows <paramref name="step"/> completed updates.</summary>
    public double At(int step)
    {
        if (Kind == ScheduleKind.Constant) return step < WarmupSteps ? PeakLearningRate * step / Math.Max(1, WarmupSteps) : PeakLearningRate;
        if (step < WarmupSteps) return PeakLearningRate * step / Math.Max(1, WarmupSteps);
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        double factor = Kind == ScheduleKind.Cosine
            ? Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * progress)))
            : Math.Max(0, 1 - progress);
        return PeakLearningRate * factor;
    }
}
