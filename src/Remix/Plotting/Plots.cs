namespace Remix.Plotting;

/// <summary>PNG charts (ScottPlot) of experiment results and analyses, written atomically.</summary>
public static class Plots
{
    /// <summary>One line per condition: accuracy on a set (D_A) against the optimizer step of a later stage, or any fraction against any x.</summary>
    public static void Curves(string path, string title, IReadOnlyDictionary<string, IReadOnlyList<(double Step, double Accuracy)>> curves,
        string xLabel = "stage-2 step", string yLabel = "accuracy on D_A") =>
        Bands(path, title, [.. curves.Select(c => (c.Key, (IReadOnlyList<(double, double, double, double)>)[.. c.Value.Select(p => (p.Step, p.Accuracy, p.Accuracy, p.Accuracy))]))], xLabel, yLabel);

    /// <summary>One line per condition, the mean over seeds, in a shaded band from the lowest seed to the highest; the legend to the right of the data.</summary>
    public static void Bands(string path, string title, IReadOnlyList<(string Name, IReadOnlyList<(double X, double Mean, double Min, double Max)> Points)> series,
        string xLabel = "stage-2 step", string yLabel = "accuracy on D_A")
    {
        var plt = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < series.Count; i++)
        {
            var (name, points) = series[i];
            if (points.Count == 0) continue;
            var colour = palette.GetColor(i);
            double[] xs = [.. points.Select(p => p.X)];
            if (points.Any(p => p.Max > p.Min))
            {
                var band = plt.Add.FillY(xs, [.. points.Select(p => p.Max)], [.. points.Select(p => p.Min)]);
                band.FillStyle.Color = colour.WithAlpha(0.2);
                band.LineStyle.Width = 0;
            }
            var line = plt.Add.Scatter(xs, [.. points.Select(p => p.Mean)]);
            line.Color = colour;
            line.LegendText = name;
        }
        plt.Title(title);
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        plt.Axes.SetLimitsY(-0.02, 1.02);
        plt.ShowLegend(ScottPlot.Edge.Right);
        Save(plt, path, width: 1100);
    }

    /// <summary>One bar per condition (for instance D_A accuracy after the last stage): the mean, with an error bar from the lowest seed to the highest.</summary>
    public static void Bars(string path, string title, string valueLabel, IReadOnlyList<(string Name, double Value, double Min, double Max)> bars)
    {
        var plt = new ScottPlot.Plot();
        var barPlot = plt.Add.Bars(bars.Select(b => b.Value).ToArray());
        for (int i = 0; i < bars.Count; i++) barPlot.Bars[i].Label = bars[i].Value.ToString("P0", System.Globalization.CultureInfo.InvariantCulture);
        barPlot.ValueLabelStyle.FontSize = 12;
        for (int i = 0; i < bars.Count; i++)
            if (bars[i].Max > bars[i].Min)
            {
                foreach (var (x1, y1, x2, y2) in new[] { (i, bars[i].Min, i, bars[i].Max), (i - 0.1, bars[i].Min, i + 0.1, bars[i].Min), (i - 0.1, bars[i].Max, i + 0.1, bars[i].Max) })
                {
                    var whisker = plt.Add.Line(x1, y1, x2, y2);
                    whisker.Color = ScottPlot.Colors.Black;
                    whisker.LineWidth = 1.5f;
                }
            }
        plt.Axes.Bottom.SetTicks([.. Enumerable.Range(0, bars.Count).Select(i => (double)i)], [.. bars.Select(b => b.Name)]);
        plt.Axes.Bottom.TickLabelStyle.Rotation = -30;
        plt.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.UpperRight;
        plt.Axes.Bottom.MinimumSize = 150; // room for the rotated names
        plt.Axes.SetLimitsY(0, 1.1);
        plt.Title(title);
        plt.YLabel(valueLabel);
        Save(plt, path);
    }

    /// <summary>A rows x columns grid of values in [0, 1] (for instance facts x layers), row r at y = r, column c at x = c, with a colour bar.</summary>
    public static void Heatmap(string path, string title, double[,] values, string xLabel, string yLabel)
    {
        var plt = new ScottPlot.Plot();
        // ScottPlot draws the first row of the array at the top; flip so that the axis numbers name the rows.
        int rows = values.GetLength(0), columns = values.GetLength(1);
        var flipped = new double[rows, columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) flipped[rows - 1 - r, c] = values[r, c];
        var map = plt.Add.Heatmap(flipped);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.ManualRange = new ScottPlot.Range(0, 1);
        plt.Add.ColorBar(map);
        plt.Title(title);
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        Save(plt, path);
    }

    static void Save(ScottPlot.Plot plt, string path, int width = 900)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var tmp = IO.AtomicFile.TemporarySibling(path) + ".png";
        plt.SavePng(tmp, width, 500);
        File.Move(tmp, path, overwrite: true);
    }
}
