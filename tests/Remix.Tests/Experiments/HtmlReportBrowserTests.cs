using System.Globalization;
using System.Text.Json;
using Remix.Reporting;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

public class HtmlReportBrowserTests
{
    /// <summary>The outcome of a fact as the page names it, from results.json: over its seeds' correct_after_stage.</summary>
    static string Outcome(IEnumerable<JsonElement> correctAfterStage, int set)
    {
        var each = correctAfterStage.Select(c => c.EnumerateArray().Select(v => v.GetBoolean()).ToList())
            .Select(c => !c[set] ? "unlearned" : c[^1] ? "kept" : "lost").Distinct().ToList();
        return each.Count == 1 ? each[0] : "mixed";
    }

    [SkippableFact]
    public async Task MicroRunsReport_LoadsOfflineWithoutErrors_ShowsResultsNumbers_AndFiltersFacts()
    {
        using var dir = new TempDir();
        ExperimentRunnerTests.BaseModelAndTwoSets(dir);
        string Spec(string name, int epochs, string seeds) => ExperimentRunnerTests.Write(dir.File($"{name}.yaml"), $$"""
            name: {{name}}
            base_model: base
            seeds: [{{seeds}}]
            logit_lens: true
            recipe: {lr: 0.01, epochs: {{epochs}}, batch_size: 4, warmup_ratio: 0, eval_every: 1}
            stages:
              - {name: A, data: a.jsonl}
              - {name: B, data: b.jsonl}
            """);
        var first = Support.Cli.Run("run", "--config", Spec("naive", 2, "0, 1"), "--out", dir.File("runs/naive"));
        Assert.True(first.Code == 0, first.Err);
        Assert.True(File.Exists(dir.File("runs/naive/report.html")), first.Out);
        var second = Support.Cli.Run("run", "--config", Spec("short", 1, "0"), "--out", dir.File("runs/short"));
        Assert.True(second.Code == 0, second.Err);
        var page = dir.File("out/report.html");
        var report = Support.Cli.Run("report", dir.File("runs/naive/seed-0"), dir.File("runs/naive/seed-1"), dir.File("runs/short/seed-0"), "--out", dir.File("out"), "--html", page);
        Assert.True(report.Code == 0, report.Err);
        Assert.Contains($"page: {page}", report.Out);

        await using var chromium = await HeadlessChromium.Open(page);
        var p = chromium.Page;
        foreach (var section in new[] { "summary", "matrices", "curves", "retention", "facts", "lens", "provenance" })
            Assert.Equal(1, await p.Locator($"section#{section}").CountAsync());
        Assert.Equal(2, await p.Locator("#matrices svg").CountAsync()); // one heatmap per condition
        Assert.Equal(2, await p.Locator("#curves svg").CountAsync()); // A during B: exact match and answer tokens
        Assert.True(await p.Locator("#lens svg").CountAsync() >= 1);
        Assert.Equal(3, await p.Locator("#provenance-table tbody tr").CountAsync()); // a row per run

        // The summary table: the CLI's text cell for cell, and behind each number the mean of results.json's over the seeds.
        var results = new Dictionary<string, List<JsonElement>>
        {
            ["naive"] = [.. new[] { 0, 1 }.Select(s => JsonDocument.Parse(File.ReadAllText(dir.File($"runs/naive/seed-{s}/results.json"))).RootElement)],
            ["short"] = [JsonDocument.Parse(File.ReadAllText(dir.File("runs/short/seed-0/results.json"))).RootElement],
        };
        var markdown = File.ReadAllLines(dir.File("out/report.md")).Skip(2).Select(l => l.Trim('|').Split(" | ").Select(c => c.Trim()).ToArray()).ToList();
        var rows = p.Locator("#summary-table tbody tr");
        Assert.Equal(2, await rows.CountAsync());
        for (int r = 0; r < 2; r++)
        {
            var cells = rows.Nth(r).Locator("td");
            var texts = (await cells.AllInnerTextsAsync()).Select(t => t.Trim()).ToArray();
            Assert.Equal(markdown[r], texts);
            var runs = results[texts[0]];
            double Mean(Func<JsonElement, double> value) => runs.Average(value);
            static double Cell(JsonElement run, string matrix, int i, int j) => run.GetProperty(matrix)[i][j].GetDouble();
            async Task<double> Value(int column) => double.Parse((await cells.Nth(column).GetAttributeAsync("data-value"))!, CultureInfo.InvariantCulture);
            Assert.Equal(runs.Count, await Value(1));
            Assert.Equal(Mean(x => Cell(x, "accuracy_matrix", 0, 0)), await Value(2), 1e-12);
            Assert.Equal(Mean(x => Cell(x, "accuracy_matrix", 1, 0)), await Value(3), 1e-12);
            Assert.Equal(Mean(x => Cell(x, "token_accuracy_matrix", 1, 0)), await Value(4), 1e-12);
            Assert.Equal(Mean(x => Cell(x, "gold_logprob_matrix", 1, 0)), await Value(5), 1e-12);
            Assert.Equal(Mean(x => x.GetProperty("forgetting").GetProperty("A").GetDouble()), await Value(6), 1e-12);
            Assert.Equal(Mean(x => Cell(x, "accuracy_matrix", 1, 1)), await Value(7), 1e-12);
        }
        // The embedded data carries results.json's matrices as they are.
        using var data = JsonDocument.Parse(await p.Locator("script#remix-data").InnerTextAsync());
        var embedded = data.RootElement.GetProperty("conditions").EnumerateArray().Single(c => c.GetProperty("label").GetString() == "naive").GetProperty("runs")[1];
        foreach (var matrix in new[] { "accuracy_matrix", "token_accuracy_matrix", "gold_logprob_matrix" })
            Assert.True(JsonElement.DeepEquals(results["naive"][1].GetProperty(matrix), embedded.GetProperty(matrix)), matrix);

        // The explorer: 12 facts; each outcome filter under each condition shows the facts results.json gives that outcome.
        async Task<int> Shown() => await p.Locator("#fact-table tbody tr:not([hidden])").CountAsync();
        Assert.Equal(12, await Shown());
        var outcomes = new Dictionary<(string Condition, string Fact), string>();
        foreach (var (condition, runs) in results)
            foreach (var (set, j) in new[] { ("A", 0), ("B", 1) })
                foreach (var fact in runs[0].GetProperty("facts").GetProperty(set).EnumerateObject())
                    outcomes[(condition, fact.Name)] = Outcome(runs.Select(r => r.GetProperty("facts").GetProperty(set).GetProperty(fact.Name).GetProperty("correct_after_stage")), j);
        var labels = await p.Locator("select.fact-outcome").EvaluateAllAsync<string[]>("s => s.map(x => x.parentElement.firstChild.textContent.trim())");
        Assert.Equal(["naive", "short"], labels);
        int total = 0;
        foreach (var outcome in HtmlReport.Outcomes)
        {
            await p.Locator("select.fact-outcome[data-condition='0']").SelectOptionAsync(outcome);
            int expected = outcomes.Count(o => o.Key.Condition == "naive" && o.Value == outcome);
            Assert.Equal(expected, await Shown());
            Assert.Equal($"{expected} of 12 facts shown", await p.Locator("#fact-count").InnerTextAsync());
            total += expected;
            // "naive: this outcome, short: unlearned" together.
            await p.Locator("select.fact-outcome[data-condition='1']").SelectOptionAsync("unlearned");
            Assert.Equal(outcomes.Keys.Count(k => k.Condition == "naive" && outcomes[k] == outcome && outcomes[("short", k.Fact)] == "unlearned"), await Shown());
            await p.Locator("select.fact-outcome[data-condition='1']").SelectOptionAsync("");
        }
        Assert.Equal(12, total);
        await p.Locator("select.fact-outcome[data-condition='0']").SelectOptionAsync("");
        await p.Locator("#fact-set").SelectOptionAsync("B");
        Assert.Equal(6, await Shown());
        // A search by a fact's key finds that fact alone.
        var question = results["naive"][0].GetProperty("facts").GetProperty("B").EnumerateObject().First().Name;
        await p.Locator("#fact-search").FillAsync(question);
        Assert.Equal(1, await Shown());
        Assert.Equal(question, await p.Locator("#fact-table tbody tr:not([hidden]) td.id").InnerTextAsync());
        await p.Locator("#fact-search").FillAsync("");
        await p.Locator("#fact-set").SelectOptionAsync("");

        // Sorting by a number column orders the rows by the numbers behind it.
        await p.Locator("#summary-table thead th").Nth(1).ClickAsync();
        Assert.Equal(["short", "naive"], (await p.Locator("#summary-table tbody tr td:first-child").AllInnerTextsAsync()).Select(t => t.Trim()));

        var screenshot = Path.Combine(AppContext.BaseDirectory, "browser", "micro-report.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await p.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(screenshot)[..4]);
        Assert.Empty(chromium.Errors);
        Assert.Empty(chromium.Blocked);
    }
}
