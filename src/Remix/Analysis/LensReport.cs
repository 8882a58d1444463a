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

    /// <summary>
    /// Reads a model's CSV as <see cref="Write"/> wrote it back into its result, named <paramref name="model"/> (the questions,
    /// which the CSV does not hold, read empty); a file of another shape is refused in one line naming it and the line.
    /// </summary>
    public static LensResult ReadCsv(string path, string model)
    {
        var lines = File.ReadAllLines(path);
        const string thresholdColumn = "earliest_p_at_least_";
        var header = lines.Length > 0 ? SplitCsv(lines[0]) : [];
        int points = (header.Count - 5) / 2;
        if (header.Count < 7 || (header.Count - 5) % 2 != 0 || header[0] != "id" || !header[4].StartsWith(thresholdColumn, StringComparison.Ordinal)
            || !double.TryParse(header[4][thresholdColumn.Length..], NumberStyles.Float, Inv, out double threshold)
            || Enumerable.Range(0, points).Any(l => header[5 + l] != $"rank_{l}" || header[5 + points + l] != $"prob_{l}"))
            throw new InvalidInputException($"{path}:1", "expected the logit lens's header: id,gold_token,gold_text,earliest_top1,earliest_p_at_least_T,rank_0..,prob_0..");
        var facts = new List<LensFact>();
        for (int n = 1; n < lines.Length; n++)
        {
            if (lines[n].Length == 0) continue;
            var f = SplitCsv(lines[n]);
            if (f.Count != header.Count || !int.TryParse(f[1], Inv, out int gold)
                || f.Skip(5).Take(points).Any(v => !int.TryParse(v, Inv, out _)) || f.Skip(5 + points).Any(v => !double.TryParse(v, NumberStyles.Float, Inv, out _)))
                throw new InvalidInputException($"{path}:{n + 1}", $"expected {header.Count} fields: an id, the gold token, its text, the earliest layers, {points} ranks and {points} probabilities");
            facts.Add(new LensFact(f[0], "", gold, f[2], [.. f.Skip(5).Take(points).Select(v => int.Parse(v, Inv))],
                [.. f.Skip(5 + points).Select(v => double.Parse(v, NumberStyles.Float, Inv))]));
        }
        if (facts.Count == 0) throw new InvalidInputException(path, "no facts");
        return new LensResult(model, points - 1, threshold, facts);
    }

    /// <summary>One CSV line's fields, RFC 4180 (a quoted field holds no line break here: the writer writes none in a line it reads back).</summary>
    static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return fields;
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
