using System.Text.Json.Nodes;
using Remix.Experiments;
using Remix.Reporting;
using Remix.Tests.Support;
using static Remix.Tests.Experiments.ExperimentRunnerTests;

namespace Remix.Tests.Experiments;

public class GridReportTests
{
    /// <summary>
    /// A grid of two configurations (stage B's epochs 1 or 2) x three seeds, planned into plan/; nothing run. Other axes
    /// than stage B's epochs (which it must keep) make it another grid.
    /// </summary>
    static (TempDir Dir, string Plan, List<(string Id, string Epochs, int Seed)> Entries) Planned(string axes = "stages[1].recipe.epochs: [1, 2]\nrecipe.lr: [0.01]")
    {
        var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        var plan = dir.File("plan");
        var entries = Plan(dir, plan, axes);
        Assert.Equal(6, entries.Count);
        return (dir, plan, entries);
    }

    /// <summary>Plans the grid of <see cref="Planned"/> with <paramref name="axes"/> and base <paramref name="recipe"/> into <paramref name="plan"/> (extending it); returns every entry of runs.jsonl.</summary>
    static List<(string Id, string Epochs, int Seed)> Plan(TempDir dir, string plan, string axes, string recipe = "{lr: 0.01, epochs: 1, batch_size: 4}", string seeds = "[0, 1, 2]")
    {
        var grid = Write(dir.File($"grid-{Guid.NewGuid():N}.yaml"), $"""
            name: g
            base_model: base
            seeds: {seeds}
            recipe: {recipe}
            stages:
              - {"{"}name: A, data: a.jsonl{"}"}
              - {"{"}name: B, data: b.jsonl{"}"}
            axes:
            {string.Join('\n', axes.Split('\n').Select(line => "  " + line))}
            """);
        var r = Support.Cli.Run(["grid", "plan", grid, "--out", plan, .. Directory.Exists(plan) ? new[] { "--extend" } : []]);
        Assert.True(r.Code == 0, r.Err);
        return [.. File.ReadAllLines(Path.Combine(plan, "runs.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Select(n => (n["id"]!.GetValue<string>(), n["axes"]!["stages[1].recipe.epochs"]!["name"]!.GetValue<string>(), n["seed"]!.GetValue<int>()))];
    }

    /// <summary>What a finished entry leaves: results.json (D_A after A, D_A at the end, D_B at the end) and the DONE marker.</summary>
    static void Finish(string plan, string id, int seed, double aAfterA, double aFinal, double bFinal, int? stageOneSteps = null)
    {
        var runDir = GridStatus.RunDirectory(plan, id);
        Directory.CreateDirectory(runDir);
        if (stageOneSteps is { } steps)
        {
            var stageA = RunLayout.StageDirectory(runDir, 1, "A");
            Directory.CreateDirectory(stageA);
            File.WriteAllText(Path.Combine(stageA, "metrics.jsonl"), $"{{\"step\":{steps - 1},\"kind\":\"train\",\"loss\":0.5}}\n{{\"step\":{steps},\"kind\":\"end\",\"stop_reason\":\"epoch cap (1)\"}}\n");
        }
        new ExperimentResults
        {
            Name = "g", Seed = seed, Stages = ["A", "B"], ScoredBy = ["accuracy", "accuracy"],
            AccuracyMatrix = [[aAfterA, 0.0], [aFinal, bFinal]],
            Forgetting = new Dictionary<string, double> { ["A"] = aAfterA - aFinal, ["B"] = 0 },
        }.Write(Path.Combine(runDir, "results.json"));
        File.WriteAllText(Path.Combine(runDir, RunLayout.DoneMarker), "");
    }

    [Fact]
    public void GridReport_OneRowPerConfiguration_WithTheAxesAsColumns_MeanSdAndRangeOverSeeds_AndListsWhatIsNotFinished()
    {
        var (dir, plan, entries) = Planned();
        using var _ = dir;
        // (epochs, seed) -> D_A at the end; D_B at the end is 1 - that, D_A after A always 1.
        var aFinal = new Dictionary<(string, int), double> { [("1", 0)] = 0.2, [("1", 1)] = 0.4, [("2", 0)] = 0.5, [("2", 1)] = 0.9 };
        foreach (var (id, epochs, seed) in entries.Where(e => e.Seed < 2))
            Finish(plan, id, seed, 1.0, aFinal[(epochs, seed)], 1 - aFinal[(epochs, seed)]);
        var failed = entries.Single(e => e.Epochs == "1" && e.Seed == 2).Id;
        GridStatus.RecordFailure(GridStatus.RunDirectory(plan, failed), "stage B: out of memory");

        var r = Support.Cli.Run("report", plan);

        Assert.True(r.Code == 0, r.Err);
        Assert.StartsWith("2 of 6 entries not finished (1 pending, 1 failed): left out", r.Out);
        Assert.Contains($"results: {Path.Combine(plan, "results.csv")}, {Path.Combine(plan, "results.parquet")}", r.Out);
        var md = File.ReadAllText(Path.Combine(plan, "report.md"));
        Assert.Contains("2 of 6 entries not finished (1 pending, 1 failed): left out", md);
        Assert.Contains($"- {failed}: failed (stage B: out of memory)", md);
        Assert.Contains($"- {entries.Single(e => e.Epochs == "2" && e.Seed == 2).Id}: pending", md);
        Assert.Contains("| epochs | lr | seeds | first set after its stage | sd | min–max | first set at the end | sd | min–max |", md);
        Assert.Contains("| 1 | 0.01 | 2 | 100% | 0% | 100%–100% | 30% | 14% | 20%–40% | 0.70 | 0.14 | 0.60–0.80 | 70% | 14% | 60%–80% |", md.Replace(" %", "%"));
        Assert.Contains("| 2 | 0.01 | 2 | 100% | 0% | 100%–100% | 70% | 28% | 50%–90% | 0.30 | 0.28 | 0.10–0.50 | 30% | 28% | 10%–50% |", md.Replace(" %", "%"));
        foreach (var plot in new[] { "forgetting-curves.png", "forgetting-curves-answer-tokens.png", "retention.png" })
            Assert.True(File.Exists(Path.Combine(plan, plot)), plot);

        var report = GridReport.Build(plan, dir.File("out"));

        Assert.Equal(["epochs", "lr"], report.AxisColumns);
        Assert.Equal(["epochs=1, lr=0.01", "epochs=2, lr=0.01"], report.Rows.Select(row => row.Label));
        var (one, two) = (report.Rows[0], report.Rows[1]);
        Assert.Equal((2, 0.2, 0.4), (one.Seeds, one.FirstFinal!.Min, one.FirstFinal.Max));
        Assert.Equal(0.3, one.FirstFinal.Mean, 1e-12);
        Assert.Equal(Math.Sqrt(0.02), one.FirstFinal.Sd, 1e-12);
        Assert.Equal((0.5, 0.9), (two.FirstFinal!.Min, two.FirstFinal.Max));
        Assert.Equal(0.7, two.FirstFinal.Mean, 1e-12);
        Assert.Equal(Math.Sqrt(0.08), two.FirstFinal.Sd, 1e-12);
        Assert.Equal((0.0, 1.0), (one.FirstAfterFirst!.Sd, one.FirstAfterFirst.Mean));
        Assert.Equal([(failed, EntryState.Failed), (entries.Single(e => e.Epochs == "2" && e.Seed == 2).Id, EntryState.Pending)], report.LeftOut.Select(e => (e.Id, e.State)));
        // The long table: the four finished runs, each axis a column, every cell a row.
        Assert.Equal(["run", "entry", "seed", "epochs", "epochs_value", "lr", "lr_value", "after_stage", "after_stage_name", "set", "metric", "value"], report.Results.Columns);
        Assert.Equal(4 * 4, report.Results.Rows.Count);
        foreach (var (id, epochs, seed) in entries.Where(e => e.Seed < 2))
        {
            var rows = report.Results.Rows.Where(row => row.Entry == id).ToList();
            Assert.All(rows, row => Assert.Equal(("g", seed, epochs, "0.01"), (row.Run, row.Seed, row.Axes[0], row.Axes[1])));
            Assert.Equal(aFinal[(epochs, seed)], rows.Single(row => row.AfterStage == 2 && row.Set == "A").Value);
        }
    }

    [Fact]
    public async Task GridReport_ParquetFile_EqualsTheCsv_AndEveryRunsResults()
    {
        var (dir, plan, entries) = Planned();
        using var _ = dir;
        foreach (var (id, _, seed) in entries.Take(3)) Finish(plan, id, seed, 1.0, 0.1 * (seed + 1), 1.0 / 3);

        var report = GridReport.Build(plan, plan);

        var parquet = await ReportLongTableTests.ReadParquet(report.ParquetPath);
        var csv = ReportLongTableTests.ReadCsv(report.CsvPath);
        Assert.Equal(csv[0], parquet.Columns);
        Assert.Equal(csv.Count - 1, parquet.Rows.Count);
        int Column(string name) => parquet.Columns.IndexOf(name);
        for (int i = 0; i < parquet.Rows.Count; i++)
        {
            var row = parquet.Rows[i];
            Assert.Equal(csv[i + 1][Column("value")], ((double)row[Column("value")]!).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(csv[i + 1][Column("epochs")], (string)row[Column("epochs")]!);
            var results = ExperimentResults.Read(Path.Combine(GridStatus.RunDirectory(plan, (string)row[Column("entry")]!), "results.json"));
            int after = (int)row[Column("after_stage")]!, set = results.Stages.ToList().IndexOf((string)row[Column("set")]!);
            Assert.Equal(results.AccuracyMatrix[after - 1][set], (double)row[Column("value")]!);
            Assert.Equal(results.Seed, (int)row[Column("seed")]!);
        }
        Assert.Equal(3 * 4, parquet.Rows.Count);
    }

    [Fact]
    public void GridReport_AlongABaseModelAxis_DrawsDAAgainstParametersOutsideTheEmbeddings_OneLinePerSettingAndDepth()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir); // base: width 32, 2 layers
        Assert.Equal(0, Support.Cli.Run("model", "init", "--out", dir.File("wide"), "--hidden-size", "64").Code);
        Assert.Equal(0, Support.Cli.Run("model", "init", "--out", dir.File("deep"), "--hidden-size", "32", "--layers", "4").Code);
        var plan = dir.File("plan");
        var entries = Plan(dir, plan, "base_model:\n  - {name: wide, value: wide}\n  - {name: small, value: base}\n  - {name: deep, value: deep}\nstages[1].recipe.epochs: [1, 2]");
        Assert.Equal(18, entries.Count);
        var bases = File.ReadAllLines(Path.Combine(plan, "runs.jsonl")).Select(l => JsonNode.Parse(l)!["axes"]!["base_model"]!["name"]!.GetValue<string>()).ToList();
        string[] order = ["small", "wide", "deep"];
        double Final(string b, string epochs, int seed) => 0.1 * Array.IndexOf(order, b) + 0.05 * int.Parse(epochs) + 0.02 * seed;
        foreach (var ((id, epochs, seed), b) in entries.Zip(bases))
        {
            Finish(plan, id, seed, 1.0, Final(b, epochs, seed), 1.0, stageOneSteps: 10 + 3 * seed);
            // Under the lens after stage A, every fact first top-1 at layer 1 of the deep base's 4 (a quarter of its depth), of the others' 2 (half).
            int layers = b == "deep" ? 4 : 2;
            WriteLens(plan, id, 1, "A", layers, 1, 1);
            WriteLens(plan, id, 2, "B", layers, layers);
        }

        var report = GridReport.Build(plan, dir.File("out"));
        // Stage 1's steps, from its log in each run folder: 10, 13 and 16 over the seeds.
        Assert.All(report.Rows, r => Assert.Equal((13.0, 10.0, 16.0), (r.FirstSteps!.Mean, r.FirstSteps.Min, r.FirstSteps.Max)));
        Assert.Contains("| its stage's steps | sd | min–max |", report.Table);
        Assert.Contains("| 13 | 3 | 10–16 |", report.Table);

        long Size(string folder) => Remix.Checkpoints.HfCheckpoint.LoadConfig(dir.File(folder)).NonEmbeddingParameterCount;
        Assert.True(Size("wide") > Size("base"));
        Assert.True(File.Exists(report.BySizePlot));
        Assert.Equal(Path.Combine(dir.File("out"), "retention-by-size.png"), report.BySizePlot);
        var lines = report.BySize!;
        Assert.Equal(["epochs=1, 2 layers", "epochs=2, 2 layers", "epochs=1, 4 layers", "epochs=2, 4 layers"], lines.Select(l => l.Label));
        foreach (var line in lines)
        {
            var epochs = line.Label[7..8];
            var expected = line.Label.EndsWith("2 layers") ? new[] { ("small", "base"), ("wide", "wide") } : [("deep", "deep")];
            Assert.Equal(expected.Select(e => (e.Item1, Size(e.Item2))), line.Points.Select(p => (p.Base, p.NonEmbeddingParameters)));
            foreach (var point in line.Points)
            {
                double[] seeds = [.. Enumerable.Range(0, 3).Select(seed => Final(point.Base, epochs, seed))];
                Assert.Equal(3, point.Value.Count);
                Assert.Equal(seeds.Average(), point.Value.Mean, 1e-12);
                Assert.Equal(seeds.Min(), point.Value.Min, 1e-12);
                Assert.Equal(seeds.Max(), point.Value.Max, 1e-12);
            }
        }
        Assert.Contains("## D_A at the end against the base's size", report.Markdown);
        // The lens's depth along size: the same lines, each point the earliest layer's fraction of its base's depth.
        Assert.Equal(lines.Select(l => l.Label), report.LensBySize!.Select(l => l.Label));
        Assert.All(report.LensBySize!.SelectMany(l => l.Points), p => Assert.Equal(p.Layers == 4 ? 0.25 : 0.5, p.Value.Mean, 1e-12));
        Assert.True(File.Exists(report.LensBySizePlot));

        // Axes zipped under one value name (a method, stage by stage) label their line by that name.
        var zipped = dir.File("zipped");
        var zip = Plan(dir, zipped, "base_model:\n  - {name: wide, value: wide}\n  - {name: small, value: base}\nstages[1].recipe.epochs:\n  - {name: naive, value: 1}\n  - {name: longer, value: 2}\nstages[1].recipe.lr:\n  - {name: naive, value: 0.01}\n  - {name: longer, value: 0.02}",
            seeds: "[0, 1, 2]\nzip:\n  - [\"stages[1].recipe.epochs\", \"stages[1].recipe.lr\"]"); // zip is a top-level key
        foreach (var (id, _, seed) in zip) Finish(zipped, id, seed, 1.0, 0.5, 1.0);
        var zippedReport = GridReport.Build(zipped, dir.File("out-zipped"));
        Assert.Equal(["naive", "longer"], zippedReport.BySize!.Select(l => l.Label));
        // ... and the wide table shows them as one column; the long table keeps a column per axis.
        Assert.StartsWith("| base_model | epochs + lr | seeds |", zippedReport.Table);
        Assert.Contains("| wide | longer | 3 |", zippedReport.Table);
        Assert.Equal(["base_model", "epochs", "lr"], zippedReport.AxisColumns);
        // wide at 2 epochs: 0.1 + 0.1 + 0.02 x seed, 22% on average, 20%-24%.
        Assert.Contains($"| epochs=2, 2 layers | wide | {Size("wide").ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} | 2 | 3 | 22 % | 2 % | 20 %–24 % |", report.Markdown);
    }

    /// <summary>
    /// The logit lens a run's stage folder holds on set A (as <c>logit_lens: true</c> writes it): one fact per earliest top-1
    /// layer in <paramref name="earliest"/> (null: never top-1), on a model of <paramref name="layers"/> layers.
    /// </summary>
    static void WriteLens(string plan, string id, int stage, string stageName, int layers, params int?[] earliest)
    {
        var facts = earliest.Select((e, f) => new Remix.Analysis.LensFact($"fact-{f}", "", 7, "x",
            [.. Enumerable.Range(0, layers + 1).Select(l => e is { } first && l >= first ? 0 : 3)],
            [.. Enumerable.Range(0, layers + 1).Select(l => e is { } first && l >= first ? 0.9 : 0.05)])).ToList();
        var stageDir = RunLayout.StageDirectory(GridStatus.RunDirectory(plan, id), stage, stageName);
        Remix.Analysis.LensReport.Write([new Remix.Analysis.LensResult("A", layers, 0.5, facts)], Path.Combine(stageDir, "logit-lens", "A"));
    }

    [Fact]
    public void GridReport_WhereEverySeedRanTheLogitLens_TablesHowDeepAndHowVariedTheFirstSetsEarliestLayersAre()
    {
        var (dir, plan, entries) = Planned();
        using var _ = dir;
        foreach (var (id, epochs, seed) in entries)
        {
            Finish(plan, id, seed, 1.0, 0.5, 1.0);
            if (epochs == "2" && seed == 2) continue; // one seed without the lens: its configuration has no lens row
            // Base of 2 layers. After stage A: facts first top-1 at layers 1 and 2 - seed (seed 0: 1.5 of 2 layers, spread 0.5;
            // seed 1: 1, 0; seed 2: 0.5, 0.5). At the end: at layer 2, and never.
            WriteLens(plan, id, 1, "A", 2, 1, 2 - seed);
            WriteLens(plan, id, 2, "B", 2, 2, null);
        }

        var report = GridReport.Build(plan, dir.File("out"));

        var lens = report.Rows[0].Lens!;
        Assert.Null(report.Rows[1].Lens);
        Assert.Equal(2, lens.Layers);
        Assert.Equal((3, 0.5, 0.25, 0.75), (lens.AfterFirst!.Count, lens.AfterFirst.Mean, lens.AfterFirst.Min, lens.AfterFirst.Max));
        Assert.Equal(0.25, lens.AfterFirst.Sd, 1e-12); // the sd over seeds of 0.75, 0.5 and 0.25
        Assert.Equal((1.0 / 6, 0.0, 0.25), (lens.AfterFirstSpread!.Mean, lens.AfterFirstSpread.Min, lens.AfterFirstSpread.Max));
        Assert.Equal((1.0, 0.0), (lens.AtEnd!.Mean, lens.AtEndSpread!.Mean));
        Assert.Equal(0.5, lens.AtEndReached.Mean, 1e-12);
        Assert.Contains("## Where the first set's facts sit under the logit lens", report.Markdown);
        Assert.Contains("| 1 | 0.01 | 2 | 3 | 0.50 | 0.25 | 0.25–0.75 | 0.17 | 0.14 | 0.00–0.25 | 1.00 | 0.00 | 1.00–1.00 | 0.00 | 0.00 | 0.00–0.00 | 50%", report.Markdown.Replace(" %", "%"));
        Assert.DoesNotContain("| 2 | 0.01 | 2 | 3 |", report.Markdown);
        Assert.Null(report.LensBySize); // no base-model axis
    }

    /// <summary>A stage folder's provenance.json with one session per thread count in <paramref name="threads"/>, on <paramref name="kernels"/>.</summary>
    static void WriteProvenance(string plan, string id, int stage, string stageName, string kernels, params int[] threads)
    {
        var stageDir = RunLayout.StageDirectory(GridStatus.RunDirectory(plan, id), stage, stageName);
        Directory.CreateDirectory(stageDir);
        var sessions = new JsonArray([.. threads.Select(t => (JsonNode)new JsonObject { ["outcome"] = "finished", ["kernels"] = kernels, ["threads"] = t })]);
        File.WriteAllText(Path.Combine(stageDir, "provenance.json"), new JsonObject { ["sessions"] = sessions }.ToJsonString());
    }

    [Fact]
    public void GridReport_SeedsOfOneConfigurationComputedOnOtherThreadCountsOrKernels_AreListed_NotSilentlyAveraged()
    {
        var (dir, plan, entries) = Planned();
        using var _ = dir;
        const string wide = "auto (CPU kernels, 512-bit vectors)", narrow = "auto (CPU kernels, 256-bit vectors)";
        foreach (var (id, epochs, seed) in entries)
        {
            Finish(plan, id, seed, 1.0, 0.5, 1.0);
            WriteProvenance(plan, id, 1, "A", wide, 1);
            // epochs=1: seed 2's stage B resumed on 2 threads; epochs=2: seed 1's stage B on 256-bit vectors; the rest alike.
            WriteProvenance(plan, id, 2, "B", epochs == "2" && seed == 1 ? narrow : wide, epochs == "1" && seed == 2 ? [1, 2] : [1]);
        }
        var one = entries.Where(e => e.Epochs == "1").Select(e => e.Id).ToList();
        var two = entries.Where(e => e.Epochs == "2").Select(e => e.Id).ToList();

        var r = Support.Cli.Run("report", plan);

        Assert.True(r.Code == 0, r.Err);
        var line = "2 configurations mix seeds computed on different thread counts or kernel paths (the arithmetic differs in its last bits; rerun them alike to compare like with like)";
        Assert.StartsWith(line + $" (listed in {Path.Combine(plan, "report.md")})", r.Out);
        var md = File.ReadAllText(Path.Combine(plan, "report.md"));
        Assert.Contains(line + ":", md);
        Assert.Contains($"- epochs=1, lr=0.01: {one[0]} (1 thread, {wide}); {one[1]} (1 thread, {wide}); {one[2]} (1 thread, {wide}; 2 threads, {wide})\n", md);
        Assert.Contains($"- epochs=2, lr=0.01: {two[0]} (1 thread, {wide}); {two[1]} (1 thread, {wide}; 1 thread, {narrow}); {two[2]} (1 thread, {wide})\n", md);

        // Computed alike (every stage on one thread, the same kernels): no such line.
        foreach (var (id, epochs, seed) in entries) WriteProvenance(plan, id, 2, "B", wide, 1);
        var alike = GridReport.Build(plan, dir.File("out"));
        Assert.Null(alike.MixedComputationLine);
        Assert.DoesNotContain("thread counts", alike.Markdown);
    }

    [Fact]
    public void GridReport_WithoutABaseModelAxis_DrawsNoSizePlot_AndWithoutTheLogitLens_HasNoLensTable()
    {
        var (dir, plan, entries) = Planned();
        using var _ = dir;
        foreach (var (id, epochs, seed) in entries) Finish(plan, id, seed, 1.0, 0.5, 1.0);
        var report = GridReport.Build(plan, dir.File("out"));
        Assert.Null(report.BySize);
        Assert.Null(report.BySizePlot);
        Assert.False(File.Exists(Path.Combine(dir.File("out"), "retention-by-size.png")));
        Assert.DoesNotContain("against the base's size", report.Markdown);
        Assert.All(report.Rows, r => Assert.Null(r.Lens));
        Assert.DoesNotContain("logit lens", report.Markdown);
    }

    [Fact]
    public void GridReport_WithNoEntryFinished_IsRefusedInOneLine()
    {
        var (dir, plan, _) = Planned();
        using var _ = dir;

        var r = Support.Cli.Run("report", plan);

        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {plan}: no entry finished yet (6 pending of 6): nothing to report", r.Err.TrimEnd());
    }

    [Fact]
    public void GridReport_AResultsFileOfAnotherSeed_IsRefusedNamingTheFile()
    {
        var (dir, plan, entries) = Planned();
        using var _ = dir;
        Finish(plan, entries[0].Id, seed: 7, 1.0, 0.5, 0.5);

        var r = Support.Cli.Run("report", plan);

        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {Path.Combine(plan, "runs", entries[0].Id, "results.json")}: seed: 7, but runs.jsonl plans entry {entries[0].Id} with seed 0", r.Err.TrimEnd());
    }

    [Theory]
    [InlineData("stages[1].recipe.epochs,recipe.lr", "epochs,lr")]
    [InlineData("stages[0].recipe.epochs,stages[1].recipe.epochs", "stages[0].recipe.epochs,stages[1].recipe.epochs")]
    [InlineData("stages[0].mix,stages[1].mix[0].ratio", "mix,ratio")]
    [InlineData("recipe.lr,stages[0].x.lr_value", "lr,stages[0].x.lr_value")]
    public void GridReport_NamesAnAxisColumnByItsLastKey_OrByItsPathWhereThatIsAmbiguous(string paths, string columns) =>
        Assert.Equal(columns.Split(','), GridReport.ColumnNames(paths.Split(',')));

    [Fact]
    public void GridReport_APlanExtendedFromAnotherBase_IsRefusedNamingTwoEntriesWithTheSameValueNames()
    {
        var (dir, plan, entries) = Planned();
        using var _ = dir;
        // The same axes and value names, another base batch size: six more entries, each a twin of one above by name.
        var extended = Plan(dir, plan, "stages[1].recipe.epochs: [1, 2]\nrecipe.lr: [0.01]", recipe: "{lr: 0.01, epochs: 1, batch_size: 8}");
        Assert.Equal(12, extended.Count);
        var (old, twin) = (extended[0], extended.Skip(6).First(e => e.Epochs == extended[0].Epochs && e.Seed == extended[0].Seed));
        Finish(plan, old.Id, 0, 1.0, 0.2, 0.8);
        Finish(plan, twin.Id, 0, 1.0, 0.6, 0.4);

        var r = Support.Cli.Run("report", plan);

        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {Path.Combine(plan, "runs.jsonl")}: entries {old.Id} and {twin.Id} have the same value name on every axis but differ in their spec outside the axes "
            + "(was the plan extended from another base?): their rows would mix; plan them into separate folders", r.Err.TrimEnd());
    }

    [Fact]
    public void GridReport_OneConfigurationUnderTwoValueNames_IsRefusedRatherThanCountingASeedTwice()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        var plan = dir.File("plan");
        // fast and quick are the same lr: one configuration, planned twice with seed 0.
        var entries = Plan(dir, plan, "stages[1].recipe.epochs: [1]\nrecipe.lr: [{name: fast, value: 0.01}, {name: quick, value: 0.01}]", seeds: "[0]");
        Assert.Equal(2, entries.Count);
        foreach (var (id, _, seed) in entries) Finish(plan, id, seed, 1.0, 0.5, 0.5);

        var r = Support.Cli.Run("report", plan);

        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {Path.Combine(plan, "runs.jsonl")}: entries {entries[0].Id} and {entries[1].Id} are one configuration (the same spec, the seed apart) "
            + "and both of seed 0: its row would count that seed twice", r.Err.TrimEnd());
    }

    [Fact]
    public void GridReport_ConfigurationsAreTheirSpecs_SoAnExtensionWithTheSameBaseJoinsTheRowsItsSeedsBelongTo()
    {
        var (dir, plan, entries) = Planned();
        using var _ = dir;
        // The same grid with its base recipe's keys in another order, for a fourth seed: each configuration gains that seed.
        var extended = Plan(dir, plan, "stages[1].recipe.epochs: [1, 2]\nrecipe.lr: [0.01]", recipe: "{batch_size: 4, epochs: 1, lr: 0.01}", seeds: "[3]");
        Assert.Equal(8, extended.Count);
        foreach (var (id, _, seed) in extended) Finish(plan, id, seed, 1.0, 0.5, 0.5);

        var report = GridReport.Build(plan, dir.File("out"));

        Assert.Equal([4, 4], report.Rows.Select(row => row.Seeds));
    }

    [Fact]
    public async Task GridReport_LongTable_HasATypedValueColumnBesideEachNumericAxis_InTheCsvAndTheParquetFile()
    {
        // lr's value is named (fast), stage B's data is a file: no number, so no value column.
        var (dir, plan, entries) = Planned("stages[1].recipe.epochs: [1, 2]\nrecipe.lr: [{name: fast, value: 0.01}]\nstages[1].data: [b.jsonl]");
        using var _ = dir;
        foreach (var (id, _, seed) in entries.Where(e => e.Seed == 0)) Finish(plan, id, seed, 1.0, 0.5, 0.5);

        var report = GridReport.Build(plan, dir.File("out"));

        string[] columns = ["run", "entry", "seed", "epochs", "epochs_value", "lr", "lr_value", "data", "after_stage", "after_stage_name", "set", "metric", "value"];
        Assert.Equal(columns, report.Results.Columns);
        var parquet = await ReportLongTableTests.ReadParquet(report.ParquetPath);
        var csv = ReportLongTableTests.ReadCsv(report.CsvPath);
        Assert.Equal(columns, parquet.Columns);
        Assert.Equal(columns, csv[0]);
        int Column(string name) => parquet.Columns.IndexOf(name);
        Assert.Equal((typeof(string), typeof(double), typeof(string), typeof(double), typeof(string)),
            (parquet.Types[Column("epochs")], parquet.Types[Column("epochs_value")], parquet.Types[Column("lr")], parquet.Types[Column("lr_value")], parquet.Types[Column("data")]));
        Assert.Equal(2 * 4, parquet.Rows.Count);
        for (int i = 0; i < parquet.Rows.Count; i++)
        {
            var (row, line) = (parquet.Rows[i], csv[i + 1]);
            var epochs = entries.Single(e => e.Id == (string)row[Column("entry")]!).Epochs;
            Assert.Equal((epochs, double.Parse(epochs), "fast", 0.01, "b"),
                ((string)row[Column("epochs")]!, (double)row[Column("epochs_value")]!, (string)row[Column("lr")]!, (double)row[Column("lr_value")]!, (string)row[Column("data")]!));
            Assert.Equal([epochs, epochs, "fast", "0.01", "b"], [line[Column("epochs")], line[Column("epochs_value")], line[Column("lr")], line[Column("lr_value")], line[Column("data")]]);
        }
    }

    [Fact]
    public void Report_OfAFolderInsideAPlanFolder_OrHoldingOne_IsRefusedPointingToTheGridReport()
    {
        var (dir, plan, entries) = Planned();
        using var _ = dir;
        foreach (var (id, _, seed) in entries) Finish(plan, id, seed, 1.0, 0.5, 0.5);

        var runs = Support.Cli.Run("report", Path.Combine(plan, "runs"), "--out", dir.File("out"));
        var entry = Support.Cli.Run("report", GridStatus.RunDirectory(plan, entries[0].Id), "--out", dir.File("out"));
        var holding = Support.Cli.Run("report", dir.Path, "--out", dir.File("out"));

        Assert.Equal((1, 1, 1), (runs.Code, entry.Code, holding.Code));
        string Inside(string d) => $"remix: {d}: lies inside the grid plan folder {plan} (it holds runs.jsonl), whose entries a plain report would lump into one row: report the grid with remix report {plan}";
        Assert.Equal(Inside(Path.Combine(plan, "runs")), runs.Err.TrimEnd());
        Assert.Equal(Inside(GridStatus.RunDirectory(plan, entries[0].Id)), entry.Err.TrimEnd());
        Assert.Equal($"remix: {dir.Path}: holds the grid plan folder {plan} (it holds runs.jsonl), whose entries a plain report would lump into one row: report each grid on its own, remix report {plan}", holding.Err.TrimEnd());
        Assert.False(Directory.Exists(dir.File("out")));
    }
}
