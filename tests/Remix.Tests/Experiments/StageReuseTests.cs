using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.Data;
using Remix.Experiments;
using Remix.Tests.Support;
using Remix.Training;
using static Remix.Tests.Experiments.ExperimentRunnerTests;

namespace Remix.Tests.Experiments;

/// <summary>A stage in a run folder is reused only when it was trained under the key this spec gives it.</summary>
public class StageReuseTests
{
    const string Changed = "changed";

    static string TwoStages(string stageA = "{name: A, data: a.jsonl}") =>
        $"name: reuse\nbase_model: base\nrecipe: {{lr: 0.01, epochs: 2, batch_size: 4, warmup_ratio: 0}}\nstages:\n  - {stageA}\n  - {{name: B, data: b.jsonl}}\n";

    static string Stage(string runDir, int number, string name, string file) => Path.Combine(RunLayout.StageDirectory(runDir, number, name), file);

    static IEnumerable<string> Lines(string text) => text.Split(Environment.NewLine);

    /// <summary>Every file and folder under <paramref name="root"/> with its content's hash and last-write time.</summary>
    static SortedDictionary<string, string> Snapshot(string root) => new(Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).ToDictionary(
        e => Path.GetRelativePath(root, e),
        e => File.Exists(e) ? $"{Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(e)))} {File.GetLastWriteTimeUtc(e).Ticks}" : "folder"), StringComparer.Ordinal);

    static string Facts(string runDir, string set) =>
        string.Join(",", JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "results.json")))!["facts"]![set]!.AsObject().Select(f => f.Key).Order());

    /// <summary>A runner of the spec as it is now in spec.yaml, its messages going to <paramref name="messages"/>.</summary>
    static ExperimentRunner Runner(TempDir dir, TextWriter messages, string? shared = null) =>
        new(ExperimentSpec.Load(dir.File("spec.yaml"))) { Progress = new ProgressReporter(messages, isTerminal: false, logEvery: 1), SharedStages = shared };

    [Fact]
    public void EditingStageOnesLearningRate_RetrainsItAndTheStagesAfter_SayingSo_AndAnUnchangedRerunDoesNothing()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        Write(dir.File("spec.yaml"), TwoStages("{name: A, data: a.jsonl, recipe: {lr: 0.01}}"));
        string[] run = ["run", "--config", dir.File("spec.yaml"), "--out", dir.File("runs")];
        var runDir = RunLayout.SeedDirectory(dir.File("runs"), 0);
        var first = Support.Cli.Run(run);
        Assert.True(first.Code == 0, first.Err);
        Assert.DoesNotContain(Changed, first.Err);
        var firstResults = JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "results.json")))!;

        Write(dir.File("spec.yaml"), TwoStages("{name: A, data: a.jsonl, recipe: {lr: 0.002}}"));
        var second = Support.Cli.Run(run);
        Assert.True(second.Code == 0, second.Err);
        Assert.Contains("stage A changed (recipe.lr 0.01 -> 0.002): retraining it and the stages after it", Lines(second.Err));
        var secondResults = JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "results.json")))!;
        Assert.NotEqual(firstResults["gold_logprob_matrix"]!.ToJsonString(), secondResults["gold_logprob_matrix"]!.ToJsonString());
        // The snapshot and both stages' keys are of the retrained spec.
        Assert.Equal(0.002, (double)JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunLayout.ConfigSnapshot)))!["stages"]![0]!["recipe"]!["lr"]!);
        foreach (var stage in new[] { Stage(runDir, 1, "A", StageKey.FileName), Stage(runDir, 2, "B", StageKey.FileName) })
            Assert.Equal("0.002", StageKey.Read(stage)!.Parts.Single(p => p.Key == "stages[0].recipe.lr").Value);

        var before = Snapshot(runDir);
        var third = Support.Cli.Run(run);
        Assert.True(third.Code == 0, third.Err);
        Assert.Equal("", third.Err); // no training, no evaluation, nothing to say
        Assert.Equal(before, Snapshot(runDir)); // not even a provenance session
    }

    [Fact]
    public void ChangingStageTwosData_RetrainsOnlyStageTwo_AndEvaluatesStageOneAgainOnTheNewSet()
    {
        using var dir = new TempDir();
        var (a, _) = BaseModelAndTwoSets(dir);
        Write(dir.File("spec.yaml"), TwoStages());
        var runDir = dir.File("run");
        Runner(dir, new StringWriter()).Run(runDir, 0);
        var stageOneLog = File.ReadAllBytes(Stage(runDir, 1, "A", "metrics.jsonl"));
        var stageTwoLog = File.ReadAllBytes(Stage(runDir, 2, "B", "metrics.jsonl"));

        ExampleJsonl.Write(dir.File("b.jsonl"), KvrGenerator.Generate(6, 7, exclude: a, idPrefix: "b2"));
        var messages = new StringWriter();
        Runner(dir, messages).Run(runDir, 0);
        Assert.Contains("stage B changed (data[0] b.jsonl: content changed): retraining it", Lines(messages.ToString()));
        Assert.Equal(stageOneLog, File.ReadAllBytes(Stage(runDir, 1, "A", "metrics.jsonl")));
        Assert.NotEqual(stageTwoLog, File.ReadAllBytes(Stage(runDir, 2, "B", "metrics.jsonl")));
        // Stage A's model was evaluated on the new set B: R[A][B] is of the facts B has now.
        using var evaluation = JsonDocument.Parse(File.ReadAllText(Stage(runDir, 1, "A", "evaluation.json")));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"b2-{i}").Order(), evaluation.RootElement.GetProperty("B").GetProperty("correct").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(string.Join(",", Enumerable.Range(0, 6).Select(i => $"b2-{i}").Order()), Facts(runDir, "B"));
    }

    [Fact]
    public void ADataFileChangedInPlace_IsRefusedInOneLineWithNoRetrain_WritingNothing_AndRetrainedWithout()
    {
        using var dir = new TempDir();
        var (_, b) = BaseModelAndTwoSets(dir);
        Write(dir.File("spec.yaml"), TwoStages());
        string[] run = ["run", "--config", dir.File("spec.yaml"), "--out", dir.File("runs")];
        Assert.Equal(0, Support.Cli.Run(run).Code);
        ExampleJsonl.Write(dir.File("a.jsonl"), KvrGenerator.Generate(6, 8, exclude: b, idPrefix: "a2"));

        var before = Snapshot(dir.File("runs"));
        var refused = Support.Cli.Run([.. run, "--no-retrain"]);
        Assert.Equal(1, refused.Code);
        Assert.Equal("remix: --no-retrain: stage A changed (data[0] a.jsonl: content changed); the folder holds another experiment's results: "
            + "leave out --no-retrain to retrain it and the stages after it, or choose another --out" + Environment.NewLine, refused.Err);
        Assert.Equal(before, Snapshot(dir.File("runs")));

        var retrained = Support.Cli.Run(run);
        Assert.True(retrained.Code == 0, retrained.Err);
        Assert.Contains("stage A changed (data[0] a.jsonl: content changed): retraining it and the stages after it", Lines(retrained.Err));
        Assert.Equal(string.Join(",", Enumerable.Range(0, 6).Select(i => $"a2-{i}").Order()), Facts(RunLayout.SeedDirectory(dir.File("runs"), 0), "A"));
    }

    [Fact]
    public void SharedStages_AreNotReusedAfterADataFileChangesInPlace()
    {
        using var dir = new TempDir();
        var (_, b) = BaseModelAndTwoSets(dir);
        Write(dir.File("spec.yaml"), TwoStages());
        var shared = dir.File("shared");
        Runner(dir, new StringWriter(), shared).Run(dir.File("one"), 0);
        ExampleJsonl.Write(dir.File("a.jsonl"), KvrGenerator.Generate(6, 8, exclude: b, idPrefix: "a2"));

        var messages = new StringWriter();
        Runner(dir, messages, shared).Run(dir.File("two"), 0);
        Assert.DoesNotContain("reusing", messages.ToString());
        Assert.Equal(2, Directory.GetDirectories(shared, "1-A-*").Length);
        // The same edited data again: now that training is the one kept.
        messages = new StringWriter();
        Runner(dir, messages, shared).Run(dir.File("three"), 0);
        Assert.Contains("stage A: this training was already done; reusing", messages.ToString());
        Assert.Equal(File.ReadAllBytes(Stage(dir.File("two"), 1, "A", "metrics.jsonl")), File.ReadAllBytes(Stage(dir.File("three"), 1, "A", "metrics.jsonl")));
    }

    /// <summary>Progress that asks the run to stop once step <paramref name="step"/> is logged (logEvery 1 logs every step).</summary>
    sealed class StopAtStep(CancellationTokenSource stop, int step) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.StartsWith($"step {step}/", StringComparison.Ordinal) == true) stop.Cancel();
        }
    }

    [Fact]
    public void AnInterruptedStage_IsKnownByItsKey_ResumedWhenUnchanged_AndRetrainedAfterAnEdit_WithTheSnapshotOfWhatWasTrained()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        File.WriteAllText(dir.File("words.txt"), "alpha\nbravo\ncharlie\ndelta\n");
        string Mixed(string ratio) => TwoStages($"{{name: A, data: a.jsonl, mix: [{{source: random, ratio: {ratio}, file: words.txt}}]}}");
        var runDir = dir.File("run");
        string Ratio(string path) => StageKey.Read(path)!.Parts.Single(p => p.Key == "stages[0].mix[0].ratio").Value;
        double SnapshotRatio() => (double)JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunLayout.ConfigSnapshot)))!["stages"]![0]!["mix"]![0]!["ratio"]!;
        string RunUntil(int step)
        {
            using var stop = new CancellationTokenSource();
            var messages = new StopAtStep(stop, step);
            var runner = new ExperimentRunner(ExperimentSpec.Load(dir.File("spec.yaml"))) { Progress = new ProgressReporter(messages, isTerminal: false, logEvery: 1) };
            if (step > 0) Assert.Throws<OperationCanceledException>(() => runner.Run(runDir, 0, stop.Token));
            else runner.Run(runDir, 0, stop.Token);
            return messages.ToString();
        }

        Write(dir.File("spec.yaml"), Mixed("1.0"));
        RunUntil(1);
        Assert.Equal("1", Ratio(Stage(runDir, 1, "A", StageKey.FileName))); // written as the training started
        Assert.Equal(1.0, SnapshotRatio());
        var resumed = RunUntil(2);
        Assert.DoesNotContain(Changed, resumed);
        Assert.Contains($"resumed from {TrainingCheckpoint.Directory(RunLayout.StageDirectory(runDir, 1, "A"), 1)}", resumed);

        // Edited while its first stage was half trained: that stage is trained again with the new ratio, as the snapshot says.
        Write(dir.File("spec.yaml"), Mixed("2.0"));
        var retrained = RunUntil(0);
        Assert.Contains("stage A changed (mix[0].ratio 1 -> 2): retraining it and the stages after it", Lines(retrained));
        Assert.DoesNotContain("resumed", retrained);
        Assert.Equal(2.0, SnapshotRatio());
        Assert.Equal("2", Ratio(Stage(runDir, 1, "A", StageKey.FileName)));
        Assert.Equal(18, MetricsLog.Read(Stage(runDir, 1, "A", "metrics.jsonl")).Single(m => (string?)m["kind"] == "run")["examples"]!.GetValue<int>());
    }

    [Fact]
    public void AStageFolderWithoutAKey_IsRetrained_AndAStageNoLongerInTheSpec_IsRemoved()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        Write(dir.File("spec.yaml"), TwoStages());
        var runDir = dir.File("run");
        Runner(dir, new StringWriter()).Run(runDir, 0);
        // As a folder trained before stages were keyed: the same outputs, no keys.
        foreach (var key in Directory.EnumerateFiles(runDir, "*_key.json", SearchOption.AllDirectories)) File.Delete(key);
        var messages = new StringWriter();
        Runner(dir, messages).Run(runDir, 0);
        Assert.Contains($"stage A has no {StageKey.FileName} (it was trained before stages were keyed by content): retraining it and the stages after it", Lines(messages.ToString()));
        var stageOneLog = File.ReadAllBytes(Stage(runDir, 1, "A", "metrics.jsonl"));

        Write(dir.File("spec.yaml"), "name: reuse\nbase_model: base\nrecipe: {lr: 0.01, epochs: 2, batch_size: 4, warmup_ratio: 0}\nstages:\n  - {name: A, data: a.jsonl}\n");
        messages = new StringWriter();
        var results = Runner(dir, messages).Run(runDir, 0);
        Assert.Contains("stage-2-B is not a stage of this spec: removing it", Lines(messages.ToString()));
        Assert.False(Directory.Exists(RunLayout.StageDirectory(runDir, 2, "B")));
        Assert.Equal(stageOneLog, File.ReadAllBytes(Stage(runDir, 1, "A", "metrics.jsonl")));
        Assert.Single(results.AccuracyMatrix);
    }

    [Fact]
    public void ASpecEditedOnlyWhereNoKeyLooks_TrainsNothing_ButItsSnapshotAndResultsFollowIt()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        Write(dir.File("spec.yaml"), TwoStages());
        var runDir = dir.File("run");
        Runner(dir, new StringWriter()).Run(runDir, 0);
        byte[][] Logs() => [File.ReadAllBytes(Stage(runDir, 1, "A", "metrics.jsonl")), File.ReadAllBytes(Stage(runDir, 2, "B", "metrics.jsonl"))];
        var logs = Logs();

        Write(dir.File("spec.yaml"), TwoStages().Replace("name: reuse", "name: renamed").Replace("warmup_ratio: 0}", "warmup_ratio: 0, save_every: 100}"));
        var messages = new StringWriter();
        var results = Runner(dir, messages).Run(runDir, 0);
        Assert.DoesNotContain(Changed, messages.ToString());
        Assert.DoesNotContain("step ", messages.ToString());
        Assert.Equal(logs, Logs());
        Assert.Equal("renamed", results.Name);
        Assert.Equal("renamed", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunLayout.ConfigSnapshot)))!["name"]);
        Assert.Equal("renamed", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "results.json")))!["name"]);
    }
}
