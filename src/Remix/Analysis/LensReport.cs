using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Remix.IO;
using Remix.Plotting;

namespace Remix.Analysis;

/// <summary>
/// Writes logit-lens results: a CSV per model (one row per fact: gold token, earliest layers, rank and
/// probability at every layer), <c>summary.md</c> and <c>summary.json</c> comparing the models side by
/// side, and PNG plots (decodable fraction per layer for every model; a fact-by-layer heatmap per model).
/// </summary>
public static class LensReport
{
    public sealed record Output(string Markdown, IReadOnlyList<string> Files);

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Output Write(IReadOnlyList<LensResult> results, string outDir)
    {
        if (results.Count == 0) throw new ArgumentException("no results to write", nameof(results));
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        foreach (var r in results)
        {
            var csv = Path.Combine(outDir, $"{FileName(r.Model)}.csv");
            AtomicFile.WriteAllText(csv, Csv(r));
            files.Add(csv);
            var heatmap = Path.Combine(outDir, $"{FileName(r.Model)}-heatmap.png");
            var grid = new double[r.Facts.Count, r.Points];
            for (int f = 0; f < r.Facts.Count; f++)
                for (int l = 0; l < r.Points; l++) grid[f, l] = r.Facts[f].Probability[l];
            Plots.Heatmap(heatmap, $"{r.Model}: probability of the gold first answer token", grid, "layer (0 = embedding)", "fact");
            files.Add(heatmap);
        }
        var curves = Path.Combine(outDir, "decodable-by-layer.png");
        Plots.Curves(curves, "Facts whose gold first token is top-1 under the logit lens",
            results.ToDictionary(r => r.Model, r => (IReadOnlyList<(double, double)>)[.. Enumerable.Range(0, r.Points).Select(l => ((double)l, r.DecodableFraction(l)))]),
            "layer (0 = embedding)", "decodable fraction");
        files.Add(curves);
        var markdown = Markdown(results);
        var md = Path.Combine(outDir, "summary.md");
        AtomicFile.WriteAllText(md, markdown);
        var json = Path.Combine(outDir, "summary.json");
        AtomicFile.WriteAllText(json, Json(results).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        files.InsertRange(0, [md, json]);
        return new Output(markdown, files);
    }

    /// <summary>A model name as a file name: path separators and other awkward characters become '-'.</summary>
    public static string FileName(string model) =>
        string.Concat(model.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')).Trim('-') is { Length: > 0 } name ? name : "model";

    static string Csv(LensResult r)
    {
        var sb = new StringBuilder("id,gold_token,gold_text,earliest_top1,earliest_p_at_least_" + r.Threshold.ToString(Inv));
        for (int l = 0; l < r.Points; l++) sb.Append(",rank_").Append(l);
        for (int l = 0; l < r.Points; l++) sb.Append(",prob_").Append(l);
        sb.Append('\n');
        foreach (var f in r.Facts)
        {
            sb.Append(Field(f.Id)).Append(',').Append(f.GoldToken).Append(',').Append(Field(f.GoldText)).Append(',')
              .Append(f.EarliestTop1?.ToString(Inv) ?? "").Append(',').Append(f.EarliestAbove(r.Threshold)?.ToString(Inv) ?? "");
            foreach (var rank in f.Rank) sb.Append(',').Append(rank);
            foreach (var p in f.Probability) sb.Append(',').Append(p.ToString("G6", Inv));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>RFC 4180 quoting where needed.</summary>
    static string Field(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 || value != value.Trim() ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;

    static string Markdown(IReadOnlyList<LensResult> results)
    {
        int points = results.Max(r => r.Points);
        var sb = new StringBuilder($"Logit lens on {results[0].Facts.Count} facts: is the gold first answer token top-1 (and its mean probability) at each layer?\n\n");
        sb.Append("| layer |").AppendJoin("", results.Select(r => $" {r.Model} top-1 | {r.Model} p(gold) |")).Append('\n');
        sb.Append("|---:|").Append(string.Concat(results.Select(_ => "---:|---:|"))).Append('\n');
        for (int l = 0; l < points; l++)
        {
            sb.Append("| ").Append(l == 0 ? "0 (embedding)" : l.ToString(Inv)).Append(" |");
            foreach (var r in results)
                sb.Append(l < r.Points ? $" {r.DecodableFraction(l).ToString("P0", Inv)} | {r.MeanProbability(l).ToString("F3", Inv)} |" : " | |");
            sb.Append('\n');
        }
        sb.Append("| earliest top-1 layer (mean ± sd; never) |").AppendJoin("", results.Select(r => $" {Spread(r.EarliestTop1)} | |")).Append('\n');
        sb.Append($"| earliest layer with p ≥ {results[0].Threshold.ToString(Inv)} |").AppendJoin("", results.Select(r => $" {Spread(r.EarliestAboveThreshold)} | |")).Append('\n');
        sb.Append("| layers where top-1 (mean per fact) |").AppendJoin("", results.Select(r => $" {r.Facts.Average(f => f.Rank.Count(k => k == 0)).ToString("F2", Inv)} | |")).Append('\n');
        return sb.ToString();
    }

    static string Spread((double Mean, double Std, int Never) s) =>
        double.IsNaN(s.Mean) ? $"none; {s.Never}" : $"{s.Mean.ToString("F2", Inv)} ± {s.Std.ToString("F2", Inv)}; {s.Never}";

    static JsonObject Json(IReadOnlyList<LensResult> results) => new()
    {
        ["threshold"] = results[0].Threshold,
        ["models"] = new JsonArray([.. results.Select(r => (JsonNode?)new JsonObject
        {
            ["name"] = r.Model,
            ["facts"] = r.Facts.Count,
            ["layers"] = r.Layers,
            ["decodable_fraction"] = new JsonArray([.. Enumerable.Range(0, r.Points).Select(l => (JsonNode?)r.DecodableFraction(l))]),
            ["mean_probability"] = new JsonArray([.. Enumerable.Range(0, r.Points).Select(l => (JsonNode?)r.MeanProbability(l))]),
            ["earliest_top1"] = SpreadJson(r.EarliestTop1),
            ["earliest_above_threshold"] = SpreadJson(r.EarliestAboveThreshold),
        })]),
    };

    static JsonObject SpreadJson((double Mean, double Std, int Never) s) => new()
    {
        ["mean"] = double.IsNaN(s.Mean) ? null : s.Mean,
        ["std"] = double.IsNaN(s.Std) ? null : s.Std,
        ["never"] = s.Never,
    };
}
