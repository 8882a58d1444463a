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

    /// <summary>
    /// The mean and range over seeds of curves that may stop at different steps, at every x any seed has: each seed counts
    /// from its first x to its last, its value carried forward between its points.
    /// </summary>
    public static List<(double X, double Mean, double Min, double Max)> Band(IReadOnlyList<IReadOnlyList<(double X, double Y)>> curves)
    {
        var valid = curves.Where(c => c.Count > 0).Select(c => c.OrderBy(p => p.X).ToList()).ToList();
        var band = new List<(double, double, double, double)>();
        foreach (var x in valid.SelectMany(c => c.Select(p => p.X)).Distinct().Order())
        {
            var values = valid.Where(c => c[0].X <= x && x <= c[^1].X).Select(c => c.Last(p => p.X <= x).Y).ToList();
            band.Add((x, values.Average(), values.Min(), values.Max()));
        }
        return band;
    }
}
