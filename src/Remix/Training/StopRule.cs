using System.Globalization;

namespace Remix.Training;

/// <summary>
/// When a training run ends besides the epoch cap: <c>epochs</c> (only the cap),
/// <c>steps:N</c> (after N optimizer steps, over which the learning-rate schedule then runs, as a fixed compute budget),
/// <c>loss:THRESHOLD:K[:cumulative]</c> (the training loss below THRESHOLD on K optimizer steps,
/// consecutive unless <c>cumulative</c>), or <c>accuracy:TARGET[:EVERY]</c> (accuracy on the memorized
/// set reaching TARGET, checked every EVERY steps, default once per epoch).
/// </summary>
public abstract record StopRule
{
    /// <summary>The epoch cap alone.</summary>
    public sealed record Epochs : StopRule
    {
        public override string ToString() => "epochs";
    }

    /// <summary>
    /// After <paramref name="Count"/> optimizer steps (or the epoch cap, if that comes first); the learning-rate schedule
    /// runs over these steps, so that methods given one budget are trained alike (the equal-compute control).
    /// </summary>
    public sealed record StepsReached(int Count) : StopRule
    {
        public override string ToString() => $"steps:{Count}";
    }

    /// <summary>Loss below <paramref name="Threshold"/> on <paramref name="Steps"/> steps.</summary>
    public sealed record LossBelow(double Threshold, int Steps, bool Cumulative = false) : StopRule
    {
        public override string ToString() => $"loss:{Threshold.ToString("R", CultureInfo.InvariantCulture)}:{Steps}{(Cumulative ? ":cumulative" : "")}";
    }

    /// <summary>Exact-match accuracy on the training facts at least <paramref name="Target"/>, checked every <paramref name="EverySteps"/> (null: each epoch end).</summary>
    public sealed record AccuracyReached(double Target, int? EverySteps = null) : StopRule
    {
        public override string ToString() => $"accuracy:{Target.ToString("R", CultureInfo.InvariantCulture)}{(EverySteps is { } n ? $":{n}" : "")}";
    }

    /// <summary>The accepted forms, as error messages name them.</summary>
    public const string Syntax = "epochs, steps:N, loss:THRESHOLD:K[:cumulative] or accuracy:TARGET[:EVERY]";

    /// <summary>Parses the <c>--stop</c> syntax.</summary>
    public static StopRule Parse(string text) =>
        TryParse(text) ?? throw new InvalidInputException("--stop", $"expected {Syntax}, found \"{text}\"");

    /// <summary>Parses the <c>--stop</c> syntax; null when <paramref name="text"/> is not one of its forms, so that a spec file can report it at its own position.</summary>
    public static StopRule? TryParse(string text)
    {
        var parts = text.Trim().Split(':');
        static double? Number(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 && double.IsFinite(v) ? v : null;
        static int? Count(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : null;
        return parts switch
        {
            ["epochs"] => new Epochs(),
            ["steps", var n] when Count(n) is { } count => new StepsReached(count),
            ["loss", var t, var k] when Number(t) is { } threshold && Count(k) is { } steps => new LossBelow(threshold, steps),
            ["loss", var t, var k, "cumulative"] when Number(t) is { } threshold && Count(k) is { } steps => new LossBelow(threshold, steps, true),
            ["loss", var t, var k, "consecutive"] when Number(t) is { } threshold && Count(k) is { } steps => new LossBelow(threshold, steps),
            ["accuracy", var t] when Number(t) is { } target and <= 1 => new AccuracyReached(target),
            ["accuracy", var t, var n] when Number(t) is { } target and <= 1 && Count(n) is { } every => new AccuracyReached(target, every),
            _ => null,
        };
    }
}
