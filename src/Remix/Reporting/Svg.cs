using System.Globalization;
using System.Net;
using System.Text;

namespace Remix.Reporting;

/// <summary>
/// The charts of report.html as inline SVG, written here so that the page needs no script library and fetches nothing:
/// lines with the seeds' band (min–max around the mean), bars with error bars, heatmaps and sparklines. Legends sit to
/// the right of the data area, never over it.
/// </summary>
internal static class Svg
{
    /// <summary>One line of a chart: at each x the mean over seeds and its range.</summary>
    public sealed record Series(string Name, IReadOnlyList<(double X, double Mean, double Min, double Max)> Points);

    /// <summary>Ten distinguishable colours (matplotlib's tab10), one per condition in order.</summary>
    public static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    const int Width = 820, Height = 330, Left = 62, Top = 34, PlotWidth = 520, PlotHeight = 240;

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static string N(double v) => v.ToString("0.##", Inv);

    public static string Escape(string text) => WebUtility.HtmlEncode(text);

    /// <summary>Lines with bands; y from <paramref name="yMin"/> to <paramref name="yMax"/>, ticks formatted by <paramref name="format"/>.</summary>
    public static string Lines(string title, string xLabel, string yLabel, IReadOnlyList<Series> series, double yMin, double yMax, Func<double, string> format,
        IReadOnlyList<(double X, string Label)>? markers = null)
    {
        var drawn = series.Where(s => s.Points.Count > 0).ToList();
        double xMin = drawn.Count == 0 ? 0 : drawn.Min(s => s.Points.Min(p => p.X)), xMax = drawn.Count == 0 ? 1 : drawn.Max(s => s.Points.Max(p => p.X));
        if (xMax <= xMin) xMax = xMin + 1;
        double X(double x) => Left + (x - xMin) / (xMax - xMin) * PlotWidth;
        double Y(double y) => Top + PlotHeight - (Math.Clamp(y, yMin, yMax) - yMin) / (yMax - yMin) * PlotHeight;
        var svg = Begin(title, xLabel, yLabel);
        Axes(svg, yMin, yMax, format, Y);
        foreach (var (x, label) in XTicks(xMin, xMax)) svg.Append($"<text x=\"{N(X(x))}\" y=\"{Top + PlotHeight + 16}\" text-anchor=\"middle\">{Escape(label)}</text>");
        foreach (var (x, label) in markers ?? [])
            svg.Append($"<line x1=\"{N(X(x))}\" x2=\"{N(X(x))}\" y1=\"{Top}\" y2=\"{Top + PlotHeight}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>")
               .Append($"<text x=\"{N(X(x) + 3)}\" y=\"{Top + 11}\" class=\"small\">{Escape(label)}</text>");
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (s.Points.Count == 0) continue;
            var colour = Palette[i % Palette.Length];
            var band = string.Join(" ", s.Points.Select(p => $"{N(X(p.X))},{N(Y(p.Max))}").Concat(s.Points.Reverse().Select(p => $"{N(X(p.X))},{N(Y(p.Min))}")));
            svg.Append($"<polygon points=\"{band}\" fill=\"{colour}\" fill-opacity=\"0.18\" stroke=\"none\"/>")
               .Append($"<polyline points=\"{string.Join(" ", s.Points.Select(p => $"{N(X(p.X))},{N(Y(p.Mean))}"))}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>");
        }
        Legend(svg, [.. series.Select((s, i) => (s.Name, Palette[i % Palette.Length], s.Points.Count == 0))]);
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Bars of the mean with the range over seeds as an error bar, the mean written above each.</summary>
    public static string Bars(string title, string yLabel, IReadOnlyList<(string Name, double Mean, double Min, double Max)> bars, Func<double, string> format)
    {
        var svg = Begin(title, "", yLabel);
        double Y(double y) => Top + PlotHeight - Math.Clamp(y, 0, 1) * PlotHeight;
        Axes(svg, 0, 1, format, Y);
        double slot = PlotWidth / (double)Math.Max(1, bars.Count), width = Math.Min(60, slot * 0.6);
        for (int i = 0; i < bars.Count; i++)
        {
            var (name, mean, min, max) = bars[i];
            double centre = Left + slot * (i + 0.5);
            var colour = Palette[i % Palette.Length];
            svg.Append($"<rect x=\"{N(centre - width / 2)}\" y=\"{N(Y(mean))}\" width=\"{N(width)}\" height=\"{N(Y(0) - Y(mean))}\" fill=\"{colour}\"><title>{Escape($"{name}: {format(mean)} ({format(min)}–{format(max)})")}</title></rect>")
               .Append($"<line x1=\"{N(centre)}\" x2=\"{N(centre)}\" y1=\"{N(Y(min))}\" y2=\"{N(Y(max))}\" stroke=\"#222\" stroke-width=\"1.5\"/>")
               .Append($"<line x1=\"{N(centre - 6)}\" x2=\"{N(centre + 6)}\" y1=\"{N(Y(min))}\" y2=\"{N(Y(min))}\" stroke=\"#222\"/>")
               .Append($"<line x1=\"{N(centre - 6)}\" x2=\"{N(centre + 6)}\" y1=\"{N(Y(max))}\" y2=\"{N(Y(max))}\" stroke=\"#222\"/>")
               .Append($"<text x=\"{N(centre + width / 2 + 2)}\" y=\"{N(Y(mean) - 3)}\" class=\"small\">{Escape(format(mean))}</text>");
        }
        Legend(svg, [.. bars.Select((b, i) => (b.Name, Palette[i % Palette.Length], false))]);
        return svg.Append("</svg>").ToString();
    }

    /// <summary>A grid of cells coloured from <paramref name="min"/> (dark) to <paramref name="max"/> (bright), each with its value written; null cells are left grey.</summary>
    public static string Heatmap(string title, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels, double?[,] values, double min, double max,
        Func<double, string>? format, string rowTitle, string columnTitle, int cellHeight = 34)
    {
        int rows = values.GetLength(0), columns = values.GetLength(1);
        int labelWidth = Math.Min(200, 14 + 7 * rowLabels.Select(l => l.Length).DefaultIfEmpty(4).Max());
        int cellWidth = Math.Max(8, Math.Min(70, 560 / Math.Max(1, columns)));
        int width = Math.Max(labelWidth + cellWidth * columns + 20, 10 + 8 * title.Length), height = Top + 20 + cellHeight * rows + 40;
        var svg = new StringBuilder($"<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{Escape(title)}\">")
            .Append($"<text x=\"4\" y=\"16\" class=\"title\">{Escape(title)}</text>")
            .Append($"<text x=\"{labelWidth + cellWidth * columns / 2}\" y=\"{Top + 2}\" text-anchor=\"middle\" class=\"small\">{Escape(columnTitle)}</text>")
            .Append($"<text x=\"4\" y=\"{Top + 2}\" class=\"small\">{Escape(rowTitle)}</text>");
        int gridTop = Top + 20;
        for (int c = 0; c < columns; c++)
            if (columns <= 24 || c % Math.Max(1, columns / 12) == 0)
                svg.Append($"<text x=\"{labelWidth + cellWidth * c + cellWidth / 2}\" y=\"{gridTop - 4}\" text-anchor=\"middle\" class=\"small\">{Escape(columnLabels[c])}</text>");
        for (int r = 0; r < rows; r++)
        {
            if (cellHeight >= 10 || r % Math.Max(1, 10 / cellHeight) == 0)
                svg.Append($"<text x=\"{labelWidth - 4}\" y=\"{gridTop + cellHeight * r + cellHeight / 2 + 4}\" text-anchor=\"end\" class=\"small\">{Escape(rowLabels[r])}</text>");
            for (int c = 0; c < columns; c++)
            {
                var v = values[r, c];
                double t = v is { } x ? (x - min) / (max - min) : 0;
                var fill = v is null ? "#eee" : Viridis(t);
                svg.Append($"<rect x=\"{labelWidth + cellWidth * c}\" y=\"{gridTop + cellHeight * r}\" width=\"{cellWidth}\" height=\"{cellHeight}\" fill=\"{fill}\">")
                   .Append($"<title>{Escape($"{rowLabels[r]}, {columnLabels[c]}: {(v is { } y ? (format ?? N)(y) : "not measured")}")}</title></rect>");
                if (v is { } value && format is not null && cellHeight >= 16)
                    svg.Append($"<text x=\"{labelWidth + cellWidth * c + cellWidth / 2}\" y=\"{gridTop + cellHeight * r + cellHeight / 2 + 4}\" text-anchor=\"middle\" fill=\"{(t > 0.6 ? "#000" : "#fff")}\">{Escape(format(value))}</text>");
            }
        }
        return svg.Append("</svg>").ToString();
    }

    /// <summary>A small line (one fact's gold log-probability over training), dashed verticals at the stage boundaries.</summary>
    public static string Sparkline(IReadOnlyList<(double X, double Y)> points, IReadOnlyList<double> boundaries, double xMax, double yMin, double yMax, string title)
    {
        const int w = 120, h = 28;
        if (xMax <= 0) xMax = 1;
        if (yMax <= yMin) yMax = yMin + 1;
        double X(double x) => 1 + x / xMax * (w - 2);
        double Y(double y) => 1 + (yMax - y) / (yMax - yMin) * (h - 2);
        var svg = new StringBuilder($"<svg class=\"spark\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\"><title>{Escape(title)}</title>");
        foreach (var b in boundaries) svg.Append($"<line x1=\"{N(X(b))}\" x2=\"{N(X(b))}\" y1=\"0\" y2=\"{h}\" stroke=\"#bbb\" stroke-dasharray=\"2 2\"/>");
        svg.Append($"<polyline points=\"{string.Join(" ", points.Select(p => $"{N(X(p.X))},{N(Y(p.Y))}"))}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>");
        return svg.Append("</svg>").ToString();
    }

    static StringBuilder Begin(string title, string xLabel, string yLabel) =>
        new StringBuilder($"<svg viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"{Escape(title)}\">")
            .Append($"<text x=\"{Left}\" y=\"18\" class=\"title\">{Escape(title)}</text>")
            .Append($"<text x=\"{Left + PlotWidth / 2}\" y=\"{Top + PlotHeight + 36}\" text-anchor=\"middle\">{Escape(xLabel)}</text>")
            .Append($"<text transform=\"translate(14 {Top + PlotHeight / 2}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>");

    static void Axes(StringBuilder svg, double yMin, double yMax, Func<double, string> format, Func<double, double> y)
    {
        svg.Append($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{PlotWidth}\" height=\"{PlotHeight}\" fill=\"none\" stroke=\"#444\"/>");
        for (int i = 0; i <= 4; i++)
        {
            double v = yMin + (yMax - yMin) * i / 4;
            svg.Append($"<line x1=\"{Left}\" x2=\"{Left + PlotWidth}\" y1=\"{N(y(v))}\" y2=\"{N(y(v))}\" stroke=\"#ddd\"/>")
               .Append($"<text x=\"{Left - 4}\" y=\"{N(y(v) + 4)}\" text-anchor=\"end\" class=\"small\">{Escape(format(v))}</text>");
        }
    }

    static IEnumerable<(double X, string Label)> XTicks(double min, double max)
    {
        double span = max - min, raw = span / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        for (double x = Math.Ceiling(min / step) * step; x <= max + step * 1e-9; x += step) yield return (x, x.ToString("0.##", Inv));
    }

    static void Legend(StringBuilder svg, IReadOnlyList<(string Name, string Colour, bool Empty)> entries)
    {
        int x = Left + PlotWidth + 16;
        for (int i = 0; i < entries.Count; i++)
        {
            int y = Top + 8 + 18 * i;
            var (name, colour, empty) = entries[i];
            svg.Append($"<rect x=\"{x}\" y=\"{y - 9}\" width=\"14\" height=\"10\" fill=\"{colour}\"/>")
               .Append($"<text x=\"{x + 19}\" y=\"{y}\" class=\"small\">{Escape(name.Length > 34 ? name[..33] + "…" : name)}{(empty ? " (no data)" : "")}<title>{Escape(name)}</title></text>");
        }
    }

    /// <summary>Viridis, by linear interpolation between five of its colours.</summary>
    static string Viridis(double t)
    {
        (double R, double G, double B)[] stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)];
        t = Math.Clamp(double.IsNaN(t) ? 0 : t, 0, 1) * (stops.Length - 1);
        int i = Math.Min((int)t, stops.Length - 2);
        double f = t - i;
        var (r, g, b) = (stops[i].R + (stops[i + 1].R - stops[i].R) * f, stops[i].G + (stops[i + 1].G - stops[i].G) * f, stops[i].B + (stops[i + 1].B - stops[i].B) * f);
        return $"#{(int)r:x2}{(int)g:x2}{(int)b:x2}";
    }
}
