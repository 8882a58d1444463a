using Remix.Reporting;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

public class ExperimentReportTests
{
    static void WriteRun(string dir, string name, int seed, double aAfterA, double aFinal, double bFinalRouge, double? aFinalTokens = null, double? aFinalLogProb = null)
    {
        Directory.CreateDirectory(dir);
        var results = new Dictionary<string, object>
        {
            ["name"] = name, ["seed"] = seed, ["stages"] = new[] { "A", "B" }, ["scored_by"] = new[] { "accuracy", "rouge_l" },
            ["accuracy_matrix"] = new[] { new[] { aAfterA, 0.0 }, new[] { aFinal, 0.0 } },
            ["rouge_l_matrix"] = new[] { new[] { 0.9, 0.1 }, new[] { 0.2, bFinalRouge } },
            ["forgetting"] = new Dictionary<string, double> { ["A"] = aAfterA - aFinal, ["B"] = 0 },
        };
        if (aFinalTokens is { } t) results["token_accuracy_matrix"] = new[] { new[] { 1.0, 0.1 }, new[] { t, 0.9 } };
        if (aFinalLogProb is { } lp) results["gold_logprob_matrix"] = new[] { new[] { -0.01, -5.0 }, new[] { lp, -0.1 } };
        File.WriteAllText(Path.Combine(dir, "results.json"), System.Text.Json.JsonSerializer.Serialize(results));
    }

    [Fact]
    public void Report_AveragesSeeds_ShowsTheSpread_AndUsesRougeForNonFactoidSets()
    {
        using var dir = new TempDir();
        WriteRun(dir.File("naive/seed-0"), "naive", 0, 1.0, 0.2, 0.4);
        WriteRun(dir.File("naive/seed-1"), "naive", 1, 1.0, 0.4, 0.6);
        WriteRun(dir.File("replay/seed-0"), "replay", 0, 0.9, 0.5, 0.5);
        var report = ExperimentReport.Build([dir.Path], dir.File("out"));
        Assert.Equal(2, report.Rows.Count);
        var naive = report.Rows.Single(r => r.Name == "naive");
        Assert.Equal((2, 0.2, 0.4), (naive.Seeds, naive.FirstFinalMin, naive.FirstFinalMax));
        Assert.Equal(0.3, naive.FirstFinal, 1e-12);
        Assert.Equal(0.5, naive.LastFinal, 1e-12);
        Assert.Contains("| naive | 2 | 100% | 30% (20%–40%) | – | – | 0.70 | ROUGE-L 0.50 |", report.Markdown.Replace(" %", "%"));
        Assert.True(File.Exists(report.RetentionPlot));
        Assert.Equal(["naive", "replay"], report.Rows.Select(r => r.Name));
        Assert.Equal(["replay", "naive"], ExperimentReport.Build([dir.Path], dir.File("out"), ["replay", "naive"]).Rows.Select(r => r.Name));
        Assert.Throws<InvalidInputException>(() => ExperimentReport.Build([dir.File("out")], dir.File("out2")));
    }

    [Fact]
    public void Report_AveragesAnswerTokenAccuracyAndGoldLogProbOverSeeds()
    {
        using var dir = new TempDir();
        WriteRun(dir.File("l2/seed-0"), "l2", 0, 1.0, 0.5, 0.4, aFinalTokens: 0.8, aFinalLogProb: -0.5);
        WriteRun(dir.File("l2/seed-1"), "l2", 1, 1.0, 0.3, 0.6, aFinalTokens: 0.6, aFinalLogProb: -1.5);
        var report = ExperimentReport.Build([dir.Path], dir.File("out"));
        var l2 = report.Rows.Single();
        Assert.Equal(0.7, l2.FirstFinalTokens, 1e-12);
        Assert.Equal((0.6, 0.8, -1.0), (l2.FirstFinalTokensMin, l2.FirstFinalTokensMax, l2.FirstFinalLogProb));
        Assert.Contains("| l2 | 2 | 100% | 40% (30%–50%) | 70% (60%–80%) | -1.00 | 0.60 | ROUGE-L 0.50 |", report.Markdown.Replace(" %", "%"));
        Assert.True(File.Exists(report.TokenCurvesPlot));
    }

    [Fact]
    public void Band_OfSeedsStoppingAtDifferentSteps_CarriesEachForwardToItsOwnLastStep()
    {
        // Seed 0 evaluated at 0, 2, 4; seed 1 at 0, 1 and stopped there.
        var band = SeedSpread.Band([[(0, 1.0), (2, 0.5), (4, 0.25)], [(0, 0.8), (1, 0.2)], []]);
        Assert.Equal([0.0, 1, 2, 4], band.Select(p => p.X));
        Assert.Equal((0.9, 0.8, 1.0), (band[0].Mean, band[0].Min, band[0].Max));
        Assert.Equal(0.6, band[1].Mean, 1e-12); // seed 0 still at its step-0 value, seed 1 at 0.2
        Assert.Equal((0.2, 1.0), (band[1].Min, band[1].Max));
        Assert.Equal((0.5, 0.5, 0.5), (band[2].Mean, band[2].Min, band[2].Max)); // seed 1 ended at step 1
        Assert.Equal((0.25, 0.25, 0.25), (band[3].Mean, band[3].Min, band[3].Max));
    }

    static Remix.Experiments.ExperimentResults Sample() => new()
    {
        Name = "naive", Seed = 3, Stages = ["A", "B"], ScoredBy = ["accuracy", "rouge_l"],
        ScoreMatrix = [[1.0, 0.0], [0.25, 0.5]], AccuracyMatrix = [[1.0, 0.0], [0.25, 0.0]], RougeLMatrix = [[0.9, 0.1], [0.3, 0.5]],
        TokenAccuracyMatrix = [[1.0, 0.2], [0.6, 0.9]], GoldLogprobMatrix = [[-0.01, -4.0], [-1.5, null]],
        Forgetting = new Dictionary<string, double> { ["A"] = 0.75, ["B"] = 0 }, Retention = new Dictionary<string, double> { ["A"] = 0.25, ["B"] = 1 },
        BackwardTransfer = -0.75, FinalAverage = 0.375,
        Facts = new Dictionary<string, IReadOnlyDictionary<string, Remix.Experiments.FactOutcome>>
        {
            ["A"] = new Dictionary<string, Remix.Experiments.FactOutcome> { ["a-0"] = new() { CorrectAfterStage = [true, false], ForgottenAtStage = "B" } },
        },
        PredictionsAfterStage = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["A"] = new Dictionary<string, string> { ["A"] = "stage-1-A/eval-A.predictions.jsonl" } },
    };

    [Fact]
    public void Results_WrittenThenRead_AreTheSameRecord_AtTheCurrentSchemaVersion()
    {
        using var dir = new TempDir();
        var path = dir.File("results.json");
        Sample().Write(path);
        Assert.Contains("\"schema_version\": 1", File.ReadAllText(path));
        var read = Remix.Experiments.ExperimentResults.Read(path);
        Assert.Equal(1, read.SchemaVersion);
        var options = new System.Text.Json.JsonSerializerOptions { WriteIndented = true };
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(Sample(), options), System.Text.Json.JsonSerializer.Serialize(read, options));
    }

    [Fact]
    public void Results_WithoutASchemaVersion_AreReadAsVersion0_AndReported()
    {
        using var dir = new TempDir();
        WriteRun(dir.File("old/seed-0"), "old", 0, 1.0, 0.5, 0.4); // the shape of files from before schema_version, some fields absent
        var read = Remix.Experiments.ExperimentResults.Read(Path.Combine(dir.File("old/seed-0"), "results.json"));
        Assert.Equal((0, "old", 0.5), (read.SchemaVersion, read.Name, read.AccuracyMatrix[1][0]!.Value));
        Assert.Null(read.PredictionsAfterStage);
        Assert.Equal(0.5, ExperimentReport.Build([dir.Path], dir.File("out")).Rows.Single().FirstFinal);
    }

    [Theory]
    [InlineData("\"schema_version\": 1", "\"schema_version\": 2", "schema_version 2 is newer than this Remix reads (up to 1)")]
    [InlineData("\"final_average\"", "\"final_averag\"", "not a results file of schema version 1")]
    [InlineData("\"accuracy_matrix\"", "\"accuracy_matrices\"", "not a results file of schema version 1")]
    [InlineData("\"seed\": 3", "\"seed\": \"three\"", "not a results file of schema version 1")]
    public void Results_ThisCodeDidNotWrite_AreRefusedInOneLineNamingTheFile(string from, string to, string expected)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.File("run"), "results.json");
        Directory.CreateDirectory(dir.File("run"));
        Sample().Write(path);
        var text = File.ReadAllText(path);
        Assert.Contains(from, text);
        File.WriteAllText(path, text.Replace(from, to));
        var r = Support.Cli.Run("report", dir.File("run"), "--out", dir.File("out"));
        Assert.Equal(1, r.Code);
        Assert.StartsWith($"remix: {path}: {expected}", r.Err);
        Assert.Single(r.Err.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("stages")]
    [InlineData("accuracy_matrix")]
    [InlineData("forgetting")]
    public void Results_WithARequiredFieldNull_AreRefusedInOneLine(string field)
    {
        using var dir = new TempDir();
        var path = dir.File("results.json");
        Sample().Write(path);
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        node[field] = null;
        File.WriteAllText(path, node.ToJsonString());
        var e = Assert.Throws<InvalidInputException>(() => Remix.Experiments.ExperimentResults.Read(path));
        Assert.StartsWith($"{path}: not a results file of schema version 1", e.Message);
    }
}
