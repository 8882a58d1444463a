using System.Globalization;

namespace Remix.Training;

/// <summary>
/// When a training run ends besides the epoch cap: <c>epochs</c> (only the cap),
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

    /// <summary>Parses the <c>--stop</c> syntax.</summary>
    public static StopRule Parse(string text)
    {
        var parts = text.Trim().Split(':');
        InvalidInputException Bad() => new("--stop", $"expected epochs, loss:THRESHOLD:K[:cumulative] or accuracy:TARGET[:EVERY], found \"{text}\"");
        double Number(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 && double.IsFinite(v) ? v : throw Bad();
        int Count(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw Bad();
        return parts switch
        {
            ["epochs"] => new Epochs(),
            ["loss", var t, var k] => new LossBelow(Number(t), Count(k)),
            ["loss", var t, var k, "cumulative"] => new LossBelow(Number(t), Count(k), true),
            ["loss", var t, var k, "consecutive"] => new LossBelow(Number(t), Count(k)),
            ["accuracy", var t] => new AccuracyReached(Number(t) <= 1 ? Number(t) : throw Bad()),
            ["accuracy", var t, var n] => new AccuracyReached(Number(t) <= 1 ? Number(t) : throw Bad(), Count(n)),
            _ => throw Bad(),
        };
    }
}
