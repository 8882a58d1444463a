using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.IO;

namespace Remix.Reporting;

/// <summary>
/// report.html: one self-contained page of a report that works offline (inline CSS, SVG charts written here, a small inline
/// script; nothing fetched): the summary table as the CLI prints it (sortable), each condition's accuracy matrix as a heatmap,
/// the forgetting curves during the later stages with the seeds' band, final retention with error bars, a per-fact explorer
/// (filterable by each condition's outcome, searchable), the logit lens where it was run, and every run's configuration and
/// provenance. The numbers it shows are embedded as JSON (<c>script#remix-data</c>) for a reader or a test to read back.
/// </summary>
public static class HtmlReport
{
    /// <summary>The page's name in a report folder or a run's output folder.</summary>
    public const string FileName = "report.html";

    /// <summary>The outcomes a fact's filter selects, per condition: learned and kept to the end, learned then lost, never learned, or mixed over seeds.</summary>
    public static readonly IReadOnlyList<string> Outcomes = ["kept", "lost", "unlearned", "mixed"];

    /// <summary>One row of the summary table: its label and its runs (one a seed), each with the name the report gives its folder.</summary>
    internal sealed record Condition(string Label, IReadOnlyList<(string Entry, ReportedRun Run)> Runs);

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static string E(string text) => Svg.Escape(text);

    static string P(double v) => ExperimentReport.P(v);

    /// <summary>Writes the page to <paramref name="path"/> (to a temporary name, then renamed).</summary>
    internal static void Write(string path, string title, IReadOnlyList<string> notes, SummaryTable summary, IReadOnlyList<Condition> conditions)
    {
        var folders = conditions.Select(c => c.Runs.Select(r => RunFolder.Load(r.Run)).ToList()).ToList();
        var stages = conditions[0].Runs[0].Run.Results.Stages;
        // The page lays every condition out on one list of stages; runs of other stages would be drawn on the wrong ones.
        if (conditions.SelectMany(c => c.Runs).Select(r => r.Run).FirstOrDefault(r => !r.Results.Stages.SequenceEqual(stages)) is { } other)
            throw new InvalidInputException(other.Path, $"stages [{string.Join(", ", other.Results.Stages)}], but the page's first run has [{string.Join(", ", stages)}]: "
                + "an HTML report takes runs of the same stages (report.md and the tables take any)");
        var html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">")
            .Append($"<title>{E(title)}</title><style>{Css}</style></head><body>")
            .Append($"<h1>{E(title)}</h1><nav>")
            .AppendJoin(" · ", Sections.Select(s => $"<a href=\"#{s.Id}\">{E(s.Title)}</a>")).Append("</nav>");
        if (notes.Count > 0) html.Append("<ul class=\"notes\">").AppendJoin("", notes.Select(n => $"<li>{E(n)}</li>")).Append("</ul>");

        Section(html, "summary", "<p>As <code>remix report</code> prints it; click a column to sort.</p>");
        html.Append(Table(summary)).Append("</section>");

        Section(html, "matrices", "<p>R[i][j]: exact match on stage j's set (columns) after training stage i (rows), the mean over seeds.</p>");
        for (int c = 0; c < conditions.Count; c++)
        {
            var runs = conditions[c].Runs.Select(r => r.Run).ToList();
            var mean = new double?[stages.Count, stages.Count];
            for (int i = 0; i < stages.Count; i++)
                for (int j = 0; j < stages.Count; j++)
                    mean[i, j] = runs.All(r => !double.IsNaN(r.Matrix[i][j])) ? runs.Average(r => r.Matrix[i][j]) : null;
            html.Append("<figure>").Append(Svg.Heatmap($"{conditions[c].Label} ({runs.Count} seed{(runs.Count == 1 ? "" : "s")})", [.. stages.Select(s => $"after {s}")],
                [.. stages.Select(s => $"on {s}")], mean, 0, 1, P, "", "")).Append("</figure>");
        }
        html.Append("</section>");

        Section(html, "curves", "<p>Each earlier set while the later stages train (their steps one after the other; dashed lines where a stage begins): the mean over seeds, the band from the lowest to the highest seed.</p>");
        for (int j = 0; j + 1 < stages.Count; j++)
        {
            var starts = folders.SelectMany(f => f).FirstOrDefault()?.StageStarts(j).ToList() ?? [];
            // Where each later stage but the first begins (the first begins where the chart does).
            var markers = starts.Select((x, k) => (x, $"stage {stages[j + 1 + k]}")).Skip(1).ToList();
            foreach (var (score, name, matrix) in new (Func<StageEvaluation, double>, string, Func<ReportedRun, double[][]?>)[]
                { (e => e.Accuracy, "exact match", r => r.Matrix), (e => e.TokenAccuracy, "answer-token accuracy", r => Matrix(r.Results.TokenAccuracyMatrix)) })
            {
                var series = conditions.Select((c, i) => new Svg.Series(c.Label, SeedSpread.Band([.. folders[i].Select(f => f.Curve(j, score, matrix(f.Run)))]))).ToList();
                html.Append("<figure>").Append(Svg.Lines($"{stages[j]}: {name} during the later stages", "step of the later stages", $"{name} on {stages[j]}", series, 0, 1, P, markers)).Append("</figure>");
            }
        }
        if (stages.Count < 2) html.Append("<p class=\"missing\">One stage: nothing is trained after it.</p>");
        html.Append("</section>");

        Section(html, "retention", "<p>Each earlier set after the last stage: the mean over seeds, the error bar from the lowest to the highest seed.</p>");
        for (int j = 0; j + 1 < stages.Count; j++)
            html.Append("<figure>").Append(Svg.Bars($"{stages[j]} after the last stage ({stages[^1]})", $"exact match on {stages[j]}",
                [.. conditions.Select(c => (c.Label, c.Runs.Average(r => r.Run.Matrix[^1][j]), c.Runs.Min(r => r.Run.Matrix[^1][j]), c.Runs.Max(r => r.Run.Matrix[^1][j])))], P)).Append("</figure>");
        html.Append("</section>");

        Section(html, "facts", "");
        Facts(html, conditions, folders, stages);
        html.Append("</section>");

        Section(html, "lens", "");
        Lens(html, conditions, folders, stages);
        html.Append("</section>");

        Section(html, "provenance", "");
        Provenance(html, conditions, folders);
        html.Append("</section>");

        html.Append("<script type=\"application/json\" id=\"remix-data\">").Append(Data(title, summary, conditions).ToJsonString(JsonOptions)).Append("</script>")
            .Append("<script>").Append(Script).Append("</script></body></html>\n");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, html.ToString());
    }

    static readonly (string Id, string Title)[] Sections =
    [
        ("summary", "Summary"), ("matrices", "Accuracy matrices"), ("curves", "Forgetting curves"), ("retention", "Final retention"),
        ("facts", "Facts"), ("lens", "Logit lens"), ("provenance", "Configuration and provenance"),
    ];

    static void Section(StringBuilder html, string id, string intro) =>
        html.Append($"<section id=\"{id}\"><h2>{E(Sections.Single(s => s.Id == id).Title)}</h2>").Append(intro);

    // The default encoder escapes <, > and & (\u003C), so the JSON cannot close its script element.
    static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    static double[][]? Matrix(IReadOnlyList<IReadOnlyList<double?>>? m) => m is null ? null : [.. m.Select(row => row.Select(v => v ?? double.NaN).ToArray())];

    static string Table(SummaryTable table)
    {
        var html = new StringBuilder("<table class=\"sortable\" id=\"summary-table\"><thead><tr>");
        for (int c = 0; c < table.Header.Count; c++)
            html.Append($"<th class=\"{(c < table.NameColumns ? "name" : "num")}\" title=\"sort\">{E(table.Header[c])}</th>");
        html.Append("</tr></thead><tbody>");
        foreach (var row in table.Rows)
        {
            html.Append("<tr>");
            for (int c = 0; c < row.Count; c++)
                html.Append($"<td class=\"{(c < table.NameColumns ? "name" : "num")}\"{(row[c].Value is { } v ? $" data-value=\"{v.ToString("R", Inv)}\"" : "")}>{E(row[c].Text)}</td>");
            html.Append("</tr>");
        }
        return html.Append("</tbody></table>").ToString();
    }

    /// <summary>A fact's outcome in one run: learned (right after its stage) and right at the end, learned and wrong at the end, or never learned.</summary>
    static string Outcome(IReadOnlyList<bool> correct, int set) =>
        set >= correct.Count || !correct[set] ? "unlearned" : correct[^1] ? "kept" : "lost";

    static void Facts(StringBuilder html, IReadOnlyList<Condition> conditions, IReadOnlyList<List<RunFolder>> folders, IReadOnlyList<string> stages)
    {
        var all = folders.SelectMany(f => f).ToList();
        var missing = all.SelectMany(f => f.Missing.Select(m => $"{f.Directory}: {m}")).ToList();
        if (all.Any(f => f.Run.Results.Facts is null)) missing.Add("some results.json record no per-fact outcomes: their facts are not shown");
        html.Append("<p>Every fact of every stage's set: its gold answer, the prediction after each stage for each condition and seed (✓ right, ✗ wrong), ")
            .Append("the stage and step at which it was lost, its gold log-probability over training (dashed lines: stage boundaries) and its logit-lens earliest top-1 layer after each stage. ")
            .Append("An outcome is <b>kept</b> (right after its stage and at the end), <b>lost</b> (right after its stage, wrong at the end), <b>unlearned</b> (wrong after its stage) or <b>mixed</b> (seeds differ).</p>");
        if (missing.Count > 0) html.Append("<ul class=\"missing\">").AppendJoin("", missing.Select(m => $"<li>{E(m)}</li>")).Append("</ul>");
        html.Append("<div class=\"filters\"><label>search <input type=\"search\" id=\"fact-search\" placeholder=\"id, question, answer, prediction\"></label> ")
            .Append("<label>set <select id=\"fact-set\"><option value=\"\">any</option>").AppendJoin("", stages.Select(s => $"<option>{E(s)}</option>")).Append("</select></label>");
        for (int c = 0; c < conditions.Count; c++)
            html.Append($" <label>{E(conditions[c].Label)} <select class=\"fact-outcome\" data-condition=\"{c}\"><option value=\"\">any</option>")
                .AppendJoin("", Outcomes.Select(o => $"<option>{o}</option>")).Append("</select></label>");
        html.Append(" <span id=\"fact-count\"></span></div>");
        html.Append("<table id=\"fact-table\"><thead><tr><th>set</th><th>fact</th><th>question</th><th>gold</th>")
            .AppendJoin("", conditions.Select(c => $"<th>{E(c.Label)}</th>")).Append("</tr></thead><tbody>");
        for (int j = 0; j < stages.Count; j++)
        {
            var set = stages[j];
            // The facts in the order of the first run's predictions, then any other run's.
            var ids = all.SelectMany(f => f.Predictions.GetValueOrDefault((j, set))?.Keys ?? (IEnumerable<string>)[])
                .Concat(all.SelectMany(f => f.Run.Results.Facts?.GetValueOrDefault(set)?.Keys ?? (IEnumerable<string>)[])).Distinct().ToList();
            foreach (var id in ids)
            {
                var first = all.Select(f => f.Predictions.GetValueOrDefault((j, set))?.GetValueOrDefault(id)).FirstOrDefault(p => p is not null);
                var cells = new StringBuilder();
                var attributes = new StringBuilder();
                for (int c = 0; c < conditions.Count; c++)
                {
                    var outcomes = new List<string>();
                    var seeds = new StringBuilder();
                    for (int s = 0; s < folders[c].Count; s++)
                    {
                        var f = folders[c][s];
                        if (f.Run.Results.Facts?.GetValueOrDefault(set)?.GetValueOrDefault(id) is not { } outcome) continue;
                        outcomes.Add(Outcome(outcome.CorrectAfterStage, j));
                        seeds.Append(FactSeed(f, j, id, outcome, stages));
                    }
                    var status = outcomes.Count == 0 ? "" : outcomes.Distinct().Count() == 1 ? outcomes[0] : "mixed";
                    attributes.Append($" data-o{c}=\"{status}\"");
                    cells.Append($"<td class=\"fact {status}\"><span class=\"outcome\">{(status == "" ? "not recorded" : status)}</span>{seeds}</td>");
                }
                html.Append($"<tr data-set=\"{E(set)}\"{attributes}><td>{E(set)}</td><td class=\"id\">{E(id)}</td><td>{E(first?.Question ?? "")}</td><td>{E(string.Join(" | ", first?.Answers ?? []))}</td>{cells}</tr>");
            }
        }
        html.Append("</tbody></table>");
    }

    /// <summary>One seed's line in a fact's cell.</summary>
    static string FactSeed(RunFolder f, int j, string id, Experiments.FactOutcome outcome, IReadOnlyList<string> stages)
    {
        var set = stages[j];
        var line = new StringBuilder($"<div class=\"seed\"><b>seed {f.Run.Seed}</b> ");
        var after = new List<string>();
        for (int i = j; i < stages.Count && i < outcome.CorrectAfterStage.Count; i++)
        {
            var prediction = f.Predictions.GetValueOrDefault((i, set))?.GetValueOrDefault(id);
            bool right = outcome.CorrectAfterStage[i];
            after.Add($"<span class=\"{(right ? "right" : "wrong")}\">{E(stages[i])} {(right ? "✓" : "✗")} {(prediction is null ? "<i>no prediction file</i>" : $"<q>{E(prediction.Prediction)}</q>")}</span>");
        }
        line.AppendJoin(" → ", after);
        if (outcome.ForgottenAtStage is { } lostAt)
        {
            int k = stages.ToList().IndexOf(lostAt);
            var log = k >= 0 ? f.Logs[k] : null;
            var step = log?.Evaluations.Where(e => e.Set == set && e.Facts is not null && e.Facts.ContainsKey(id)).FirstOrDefault(e => !e.Facts![id].Correct)?.Step;
            bool traced = log?.Evaluations.Any(e => e.Set == set && e.Facts is not null) == true;
            line.Append($" · <span class=\"lost\">lost in {E(lostAt)}{(step is { } s ? $" at step {s}" : traced ? "" : " (step not recorded)")}</span>");
        }
        // Its gold log-probability: after its stage, then at each evaluation of the later stages, then after each of them.
        var points = new List<(double X, double Y)>();
        var boundaries = new List<double>();
        double offset = 0;
        if (f.Predictions.GetValueOrDefault((j, set))?.GetValueOrDefault(id) is { GoldLogProb: var own } && !double.IsNaN(own)) points.Add((0, own));
        for (int k = j + 1; k < stages.Count; k++)
        {
            boundaries.Add(offset);
            var log = f.Logs[k];
            var traced = log?.Evaluations.Where(e => e.Set == set && e.Facts?.ContainsKey(id) == true && !double.IsNaN(e.Facts[id].GoldLogProb)).ToList() ?? [];
            foreach (var e in traced) points.Add((offset + e.Step, e.Facts![id].GoldLogProb));
            double steps = log?.Steps ?? 1;
            if (traced.Count == 0 && f.Predictions.GetValueOrDefault((k, set))?.GetValueOrDefault(id) is { GoldLogProb: var end } && !double.IsNaN(end)) points.Add((offset + steps, end));
            offset += steps;
        }
        if (points.Count > 1)
            line.Append(' ').Append(Svg.Sparkline(points, boundaries, offset, Math.Min(points.Min(p => p.Y), -0.01), Math.Max(0, points.Max(p => p.Y)),
                $"gold log-probability: {points[0].Y.ToString("F2", Inv)} after {set} → {points[^1].Y.ToString("F2", Inv)} at the end"))
                .Append($"<span class=\"small\">log p {points[0].Y.ToString("F2", Inv)} → {points[^1].Y.ToString("F2", Inv)}</span>");
        var lens = Enumerable.Range(j, stages.Count - j).Select(i => f.Lens.GetValueOrDefault((i, set))?.Facts.FirstOrDefault(x => x.Id == id)).ToList();
        if (lens.Any(l => l is not null))
            line.Append(" · lens top-1 layer ").AppendJoin(" → ", lens.Select((l, i) => $"{E(stages[j + i])} {(l is null ? "–" : l.EarliestTop1?.ToString(Inv) ?? "never")}"));
        return line.Append("</div>").ToString();
    }

    static void Lens(StringBuilder html, IReadOnlyList<Condition> conditions, IReadOnlyList<List<RunFolder>> folders, IReadOnlyList<string> stages)
    {
        if (!folders.SelectMany(f => f).Any(f => f.Lens.Count > 0))
        {
            html.Append("<p class=\"missing\">No logit lens in these runs (the spec's <code>logit_lens: true</code> runs it after each stage; <code>remix analyze logit-lens</code> on any model).</p>");
            return;
        }
        html.Append("<p>Under the logit lens, the fraction of each set's facts whose gold first answer token is top-1 at each layer (0: the embedding), right after the set's stage and after the last stage: the mean over seeds, the band from the lowest to the highest seed. The heatmaps show the probability of the gold first token, fact by fact, after the last stage (the first seed).</p>");
        for (int j = 0; j < stages.Count; j++)
        {
            var series = new List<Svg.Series>();
            foreach (var after in new[] { j, stages.Count - 1 }.Distinct())
                for (int c = 0; c < conditions.Count; c++)
                {
                    var curves = folders[c].Select(f => f.Lens.GetValueOrDefault((after, stages[j])) is { } lens
                        ? Enumerable.Range(0, lens.Points).Select(l => ((double)l, lens.DecodableFraction(l))).ToList() : []).ToList();
                    if (curves.Any(x => x.Count > 0)) series.Add(new Svg.Series($"{conditions[c].Label}, after {stages[after]}", SeedSpread.Band(curves)));
                }
            if (series.Count == 0) continue;
            html.Append("<figure>").Append(Svg.Lines($"{stages[j]}: facts decodable top-1 by layer", "layer", "decodable fraction", series, 0, 1, P)).Append("</figure>");
            for (int c = 0; c < conditions.Count; c++)
                if (folders[c].FirstOrDefault()?.Lens.GetValueOrDefault((stages.Count - 1, stages[j])) is { } last)
                {
                    var grid = new double?[last.Facts.Count, last.Points];
                    for (int r = 0; r < last.Facts.Count; r++)
                        for (int l = 0; l < last.Points; l++) grid[r, l] = last.Facts[r].Probability[l];
                    html.Append("<figure>").Append(Svg.Heatmap($"{conditions[c].Label}, seed {folders[c][0].Run.Seed}: p(gold first token) on {stages[j]} after {stages[^1]}",
                        [.. last.Facts.Select(x => x.Id)], [.. Enumerable.Range(0, last.Points).Select(l => l.ToString(Inv))], grid, 0, 1, null, "fact", "layer",
                        cellHeight: Math.Clamp(480 / Math.Max(1, last.Facts.Count), 3, 18))).Append("</figure>");
                }
        }
    }

    static void Provenance(StringBuilder html, IReadOnlyList<Condition> conditions, IReadOnlyList<List<RunFolder>> folders)
    {
        html.Append("<table id=\"provenance-table\"><thead><tr><th>condition</th><th>run</th><th>seed</th><th>model</th><th>code</th><th>machine</th><th>started</th><th>wall time</th><th>outcome</th></tr></thead><tbody>");
        var details = new StringBuilder();
        for (int c = 0; c < conditions.Count; c++)
            for (int s = 0; s < folders[c].Count; s++)
            {
                var f = folders[c][s];
                var entry = conditions[c].Runs[s].Entry;
                string? Field(string key) => f.Sessions.Count == 0 ? null : f.Sessions[^1][key]?.ToString();
                string model = "";
                if (f.Config is not null)
                    try { model = JsonNode.Parse(f.Config)?["base_model"]?.ToString() ?? ""; }
                    catch (JsonException) { model = "(config.json unreadable)"; }
                double wall = f.Sessions.Sum(x => x["wall_seconds"] is JsonValue v && v.TryGetValue(out double w) ? w : 0);
                var machine = f.Sessions.Count == 0 ? "not recorded"
                    : $"{Field("host")}: {Field("cpu_model")}, {Field("logical_processors")} threads, {Field("os")}; device {Field("device")}, dtype {Field("dtype")}, kernels {Field("kernels")}";
                var code = f.Sessions.Count == 0 ? "not recorded" : $"Remix {Field("remix_version")} (commit {Field("git_commit")}, tree {Field("git_tree")}), TorchSharp {Field("torchsharp_version")}";
                html.Append($"<tr><td>{E(conditions[c].Label)}</td><td>{E(entry)}</td><td>{f.Run.Seed}</td><td>{E(model)}</td><td>{E(code)}</td><td>{E(machine)}</td>")
                    .Append($"<td>{E(f.Sessions.Count == 0 ? "–" : f.Sessions[0]["start"]?.ToString() ?? "–")}</td>")
                    .Append($"<td>{(f.Sessions.Count == 0 ? "–" : $"{wall.ToString("F1", Inv)} s{(f.Sessions.Count > 1 ? $" over {f.Sessions.Count} sessions" : "")}")}</td><td>{E(Field("outcome") ?? "–")}</td></tr>");
                details.Append($"<details><summary>{E(conditions[c].Label)}, {E(entry)}: configuration and data hashes</summary>");
                if (f.Hashes.Count > 0)
                    details.Append("<table><thead><tr><th>stage</th><th>file</th><th>content</th></tr></thead><tbody>")
                        .AppendJoin("", f.Hashes.Select(h => $"<tr><td>{E(h.Stage)}</td><td>{E(h.Part)}</td><td class=\"id\">{E(h.Value)}</td></tr>")).Append("</tbody></table>");
                else details.Append("<p class=\"missing\">No stage keys: data hashes not recorded.</p>");
                details.Append(f.Config is null ? "<p class=\"missing\">No config.json.</p>" : $"<pre>{E(f.Config)}</pre>");
                if (f.Sessions.Count > 0) details.Append($"<pre>{E(string.Join("\n", f.Sessions.Select(x => string.Join(" ", x["command_line"]?.AsArray().Select(a => a?.ToString()) ?? []))))}</pre>");
                details.Append("</details>");
            }
        html.Append("</tbody></table>").Append(details);
    }

    static JsonObject Data(string title, SummaryTable summary, IReadOnlyList<Condition> conditions)
    {
        static JsonNode? Matrix(IReadOnlyList<IReadOnlyList<double?>>? m) => m is null ? null
            : new JsonArray([.. m.Select(row => (JsonNode?)new JsonArray([.. row.Select(v => v is { } x && double.IsFinite(x) ? (JsonNode?)x : null)]))]);
        return new JsonObject
        {
            ["title"] = title,
            ["summary"] = new JsonObject
            {
                ["header"] = new JsonArray([.. summary.Header.Select(h => (JsonNode?)h)]),
                ["rows"] = new JsonArray([.. summary.Rows.Select(row => (JsonNode?)new JsonArray([.. row.Select(c => (JsonNode?)new JsonObject
                {
                    ["text"] = c.Text, ["value"] = c.Value is { } v && double.IsFinite(v) ? v : null,
                })]))]),
            },
            ["conditions"] = new JsonArray([.. conditions.Select(c => (JsonNode?)new JsonObject
            {
                ["label"] = c.Label,
                ["runs"] = new JsonArray([.. c.Runs.Select(r => (JsonNode?)new JsonObject
                {
                    ["entry"] = r.Entry, ["seed"] = r.Run.Seed, ["stages"] = new JsonArray([.. r.Run.Results.Stages.Select(s => (JsonNode?)s)]),
                    ["accuracy_matrix"] = Matrix(r.Run.Results.AccuracyMatrix), ["token_accuracy_matrix"] = Matrix(r.Run.Results.TokenAccuracyMatrix),
                    ["gold_logprob_matrix"] = Matrix(r.Run.Results.GoldLogprobMatrix), ["rouge_l_matrix"] = Matrix(r.Run.Results.RougeLMatrix),
                    ["forgetting"] = new JsonObject([.. r.Run.Results.Forgetting.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))]),
                })]),
            })]),
        };
    }

    const string Css = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
        h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:2em}
        nav{margin-bottom:1em}nav a{color:#1f5fa8}
        table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 6px;vertical-align:top}
        th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
        table.sortable th{cursor:pointer}table.sortable th.asc::after{content:" ▲"}table.sortable th.desc::after{content:" ▼"}
        figure{display:inline-block;margin:.5em 1em .5em 0}svg text{font:12px system-ui,sans-serif}svg text.small{font-size:11px}svg text.title{font-size:13px;font-weight:600}
        .notes,.missing{color:#8a5300}.filters{margin:.5em 0;position:sticky;top:0;background:#fff;padding:.3em 0}.filters label{margin-right:.8em}
        #fact-table td{font-size:12px}td.id{font-family:monospace}.seed{white-space:nowrap}.right{color:#17672a}.wrong{color:#b0241b}.lost{color:#b0241b;font-weight:600}
        td.kept .outcome{background:#d9f2dd}td.lost .outcome{background:#f7d6d3}td.unlearned .outcome{background:#eee}td.mixed .outcome{background:#fbeec2}
        .outcome{padding:0 4px;border-radius:3px;margin-right:4px}.spark{vertical-align:middle;margin:0 4px}.small{font-size:11px;color:#555}
        pre{background:#f7f7f7;padding:.5em;overflow:auto;max-height:20em}q{font-family:monospace}
        """;

    const string Script = """
        (function () {
          function key(cell) { var v = cell.getAttribute('data-value'); return v === null ? null : parseFloat(v); }
          document.querySelectorAll('table.sortable').forEach(function (table) {
            var heads = table.querySelectorAll('thead th');
            heads.forEach(function (th, column) {
              th.addEventListener('click', function () {
                var ascending = !th.classList.contains('asc');
                heads.forEach(function (h) { h.classList.remove('asc', 'desc'); });
                th.classList.add(ascending ? 'asc' : 'desc');
                var body = table.tBodies[0];
                var rows = Array.prototype.slice.call(body.rows);
                rows.sort(function (a, b) {
                  var x = a.cells[column], y = b.cells[column], kx = key(x), ky = key(y), order;
                  if (kx !== null && ky !== null) order = kx - ky;
                  else if (kx === null && ky === null) order = x.textContent.localeCompare(y.textContent);
                  else return kx === null ? 1 : -1;
                  return ascending ? order : -order;
                });
                rows.forEach(function (r) { body.appendChild(r); });
              });
            });
          });
          var facts = document.getElementById('fact-table');
          if (!facts) return;
          var rows = Array.prototype.slice.call(facts.tBodies[0].rows);
          var search = document.getElementById('fact-search'), set = document.getElementById('fact-set');
          var outcomes = Array.prototype.slice.call(document.querySelectorAll('select.fact-outcome'));
          var count = document.getElementById('fact-count');
          function apply() {
            var query = search.value.trim().toLowerCase(), shown = 0;
            rows.forEach(function (row) {
              var ok = (!set.value || row.getAttribute('data-set') === set.value) && (!query || row.textContent.toLowerCase().indexOf(query) >= 0);
              outcomes.forEach(function (select) {
                if (select.value && row.getAttribute('data-o' + select.getAttribute('data-condition')) !== select.value) ok = false;
              });
              row.hidden = !ok;
              if (ok) shown++;
            });
            count.textContent = shown + ' of ' + rows.length + ' facts shown';
          }
          search.addEventListener('input', apply);
          set.addEventListener('change', apply);
          outcomes.forEach(function (select) { select.addEventListener('change', apply); });
          apply();
        })();
        """;
}
