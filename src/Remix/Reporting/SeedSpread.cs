namespace Remix.Reporting;

/// <summary>One number of a configuration over its seeds: the mean, the sample standard deviation (n - 1) and the range.</summary>
/// <param name="Count">How many seeds.</param>
/// <param name="Mean">Their mean.</param>
/// <param name="Sd">The sample standard deviation, NaN for one seed (it has none).</param>
/// <param name="Min">The smallest.</param>
/// <param name="Max">The largest.</param>
public sealed record SeedSpread(int Count, double Mean, double Sd, double Min, double Max)
{
    /// <summary>The spread of <paramref name="values"/> (at least one), or null when any is NaN: a number some seed lacks is not summarized over the others.</summary>
    public static SeedSpread? Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("no values", nameof(values));
        if (values.Any(double.IsNaN)) return null;
        double mean = values.Average();
        double sd = values.Count < 2 ? double.NaN : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return new SeedSpread(values.Count, mean, sd, values.Min(), values.Max());
    }
}
