using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Data;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Tokenization;
using Remix.Training;
using static TorchSharp.torch;

namespace Remix.Tests.Training;

public class TrainerTests : IDisposable
{
    readonly TempDir _dir = new();
    readonly string _base;

    public TrainerTests()
    {
        _base = TestModels.SaveTrainerBase(_dir.File("base"));
    }

    public void Dispose() => _dir.Dispose();

    static readonly List<Example> Facts = KvrGenerator.Generate(12, seed: 5);

    static readonly TrainingOptions Quick = new()
    {
        LearningRate = 3e-3, BatchSize = 4, Epochs = 3, WarmupRatio = 0.1, Seed = 2, SaveEvery = 0,
    };

    (LoadedModel Loaded, Trainer Trainer) Make(TrainingOptions options, Action<int>? afterStep = null)
    {
        var loaded = LoadedModel.Load(_base);
        return (loaded, new Trainer(loaded.Model, loaded.Tokenizer, loaded.StopTokenIds, options) { AfterStep = afterStep });
    }

    static byte[] WeightsOf(string dir) => File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));

    TrainingResult Run(TrainingOptions options, string outDir, bool resume = false, Action<int>? afterStep = null, CancellationToken cancel = default,
        IReadOnlyList<(string, IReadOnlyList<Example>)>? eval = null)
    {
        var (loaded, trainer) = Make(options, afterStep);
        using (loaded)
            return trainer.Train(new TrainingRun { Examples = Facts, OutDir = outDir, Resume = resume, TokenizerSource = _base, EvalSets = eval ?? [] }, cancel);
    }

    [Theory]
    [InlineData("missing-dir/trainer_state.json", null, "file not found")]
    [InlineData("trainer_state.json", "{\"step\": \"three\"}", "malformed trainer state")]
    [InlineData("trainer_state.json", "[1, 2]", "expected a JSON object")]
    public void TrainerState_BadFiles_AreNamedInOneLine(string relative, string? content, string expected)
    {
        using var dir = new TempDir();
        var path = System.IO.Path.Combine(dir.Path, relative);
        if (content is not null) File.WriteAllText(path, content);
        var e = Assert.Throws<InvalidInputException>(() => TrainerState.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        var state = new TrainerState { Step = 3, Epoch = 1, BatchInEpoch = 2, Fingerprint = "f", TokensSeen = 99 };
        state.Save(dir.File("ok.json"));
        Assert.Equal(state, TrainerState.Load(dir.File("ok.json")));
    }

    [Fact]
    public void ResumeAfterAKill_ReachesTheSameWeightsAsAnUninterruptedRun()
    {
        var options = Quick with { SaveEvery = 4 };
        var straight = Run(options, _dir.File("straight"));
        Assert.Equal(9, straight.Steps); // 12 examples / 4 per batch x 3 epochs

        // A crash at step 6: the last checkpoint is step 4, two steps are lost and redone.
        Assert.Throws<InvalidOperationException>(() => Run(options, _dir.File("killed"), afterStep: s => { if (s == 6) throw new InvalidOperationException("killed"); }));
        Assert.Equal(Path.Combine(_dir.File("killed"), "checkpoints", "step-4"), TrainingCheckpoint.Latest(_dir.File("killed")));
        var resumed = Run(options, _dir.File("killed"), resume: true);
        Assert.Equal(9, resumed.Steps);
        // Steps 5 and 6 were logged, lost with the kill and redone: each step is in the log once.
        var trainSteps = MetricsLog.Read(Path.Combine(_dir.File("killed"), "metrics.jsonl")).Where(m => (string?)m["kind"] == "train").Select(m => (int)m["step"]!);
        Assert.Equal(Enumerable.Range(1, 9), trainSteps);
        Assert.Equal(WeightsOf(straight.FinalModelDirectory!), WeightsOf(resumed.FinalModelDirectory!));
    }

    [Fact]
    public void ResumeAfterAnInterrupt_SavesThenContinuesExactly()
    {
        var straight = Run(Quick, _dir.File("straight"));
        using var cancel = new CancellationTokenSource();
        var first = Run(Quick, _dir.File("interrupted"), afterStep: s => { if (s == 5) cancel.Cancel(); }, cancel: cancel.Token);
        Assert.True(first.Interrupted);
        Assert.Equal(5, first.Steps);
        var rest = Run(Quick, _dir.File("interrupted"), resume: true);
        Assert.Equal(WeightsOf(straight.FinalModelDirectory!), WeightsOf(rest.FinalModelDirectory!));
    }

    [Fact]
    public void ExistingCheckpointsWithoutResume_AreRefused_AndOtherDataCannotResume()
    {
        using var cancel = new CancellationTokenSource();
        Run(Quick, _dir.File("run"), afterStep: _ => cancel.Cancel(), cancel: cancel.Token);
        var e = Assert.Throws<InvalidInputException>(() => Run(Quick, _dir.File("run")));
        Assert.Contains("already holds checkpoints; pass --resume", e.Message);
        var other = Assert.Throws<InvalidInputException>(() => Run(Quick with { LearningRate = 1e-2 }, _dir.File("run"), resume: true));
        Assert.Contains("was written for other data or another recipe", other.Message);
    }

    [Fact]
    public void AFinishedRun_KeepsOnlyItsFinalModel_UnlessAskedToKeepCheckpoints()
    {
        var options = Quick with { SaveEvery = 4 };
        var dropped = Run(options, _dir.File("dropped"));
        Assert.False(Directory.Exists(Path.Combine(_dir.File("dropped"), "checkpoints")));
        Assert.True(File.Exists(Path.Combine(dropped.FinalModelDirectory!, "model.safetensors")));
        Assert.Equal(9, TrainingCheckpoint.Finished(_dir.File("dropped"))!.Step);

        // What is not the trainer's own in checkpoints/ stays.
        Directory.CreateDirectory(Path.Combine(_dir.File("mine"), "checkpoints"));
        File.WriteAllText(Path.Combine(_dir.File("mine"), "checkpoints", "notes.txt"), "mine");
        Run(options, _dir.File("mine"));
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(Path.Combine(_dir.File("mine"), "checkpoints")).Select(Path.GetFileName));

        var kept = Run(options with { KeepCheckpoints = true }, _dir.File("kept"));
        var steps = Directory.GetDirectories(Path.Combine(_dir.File("kept"), "checkpoints")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["step-4", "step-8", "step-9"], steps);
        Assert.True(File.Exists(Path.Combine(_dir.File("kept"), "checkpoints", "step-9", TrainingCheckpoint.OptimizerFileName)));
        // Keeping checkpoints changes nothing that is trained.
        Assert.Equal(WeightsOf(dropped.FinalModelDirectory!), WeightsOf(kept.FinalModelDirectory!));
    }

    [Fact]
    public void AFinishedRun_IsRefusedWithoutResume_LeftAsItIsWithIt_AndNotServedForAnotherRecipe()
    {
        var done = Run(Quick, _dir.File("done"));
        var weights = WeightsOf(done.FinalModelDirectory!);
        var e = Assert.Throws<InvalidInputException>(() => Run(Quick, _dir.File("done")));
        Assert.Contains("already holds a finished training", e.Message);

        var again = Run(Quick, _dir.File("done"), resume: true);
        Assert.True(again.AlreadyFinished);
        Assert.Equal(9, again.Steps);
        Assert.Equal(done.StopReason, again.StopReason);
        Assert.Equal(weights, WeightsOf(again.FinalModelDirectory!));

        var other = Assert.Throws<InvalidInputException>(() => Run(Quick with { LearningRate = 1e-2 }, _dir.File("done"), resume: true));
        Assert.Contains("was written for other data or another recipe", other.Message);
    }

    [Fact]
    public void ARunStoppedDuringItsClosingEvaluation_ResumesFromItsFinalWeights()
    {
        var eval = new List<(string, IReadOnlyList<Example>)> { ("facts", Facts) };
        var straight = Run(Quick, _dir.File("straight"), eval: eval);
        // What a kill after final/ was written and before the run was marked finished leaves: final/ and no checkpoints.
        var stopped = _dir.File("stopped");
        Run(Quick, stopped, eval: eval);
        File.Delete(Path.Combine(stopped, TrainerState.FileName));
        File.Delete(Path.Combine(stopped, "facts.predictions.jsonl"));

        int stepsTrained = 0;
        var resumed = Run(Quick, stopped, resume: true, eval: eval, afterStep: _ => stepsTrained++);
        Assert.Equal(0, stepsTrained); // evaluated, not trained again
        Assert.False(resumed.AlreadyFinished);
        Assert.Equal(9, resumed.Steps);
        Assert.Equal(straight.Evaluations[0].GoldLogProb, resumed.Evaluations[0].GoldLogProb, 1e-12);
        Assert.True(File.Exists(Path.Combine(stopped, "facts.predictions.jsonl")));
        Assert.Equal(WeightsOf(straight.FinalModelDirectory!), WeightsOf(resumed.FinalModelDirectory!));
        Assert.NotNull(TrainingCheckpoint.Finished(stopped));
    }

    [Fact]
    public void AResumedRun_HasOneTensorBoardEventFile()
    {
        var options = Quick with { SaveEvery = 4 };
        var killed = _dir.File("killed");
        Assert.Throws<InvalidOperationException>(() => Run(options, killed, afterStep: s => { if (s == 6) throw new InvalidOperationException("killed"); }));
        Run(options, killed, resume: true);
        var events = Directory.GetFiles(Path.Combine(killed, "tensorboard"), "events.out.tfevents.*");
        Assert.Single(events);
        // The one file holds the whole run: steps 1-4 kept from the first process, replayed, and 5-9 from the second.
        var straight = _dir.File("straight");
        Run(options, straight);
        Assert.InRange(new FileInfo(events[0]).Length, 0.9 * new FileInfo(Directory.GetFiles(Path.Combine(straight, "tensorboard"))[0]).Length, long.MaxValue);
    }

    [Fact]
    public void GradientAccumulation_EqualsOneLargerBatch()
    {
        var big = Run(Quick with { BatchSize = 4, Epochs = 1, FixedOrder = true }, _dir.File("big"));
        var accumulated = Run(Quick with { BatchSize = 2, GradientAccumulation = 2, Epochs = 1, FixedOrder = true }, _dir.File("accum"));
        Assert.Equal(big.Steps, accumulated.Steps);
        using var a = HfCheckpoint.Load(big.FinalModelDirectory!);
        using var b = HfCheckpoint.Load(accumulated.FinalModelDirectory!);
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(pa.allclose(pb, rtol: 1e-4, atol: 1e-6), name);
    }

    [Fact]
    public void LossStopRule_StopsAfterKSteps()
    {
        var result = Run(Quick with { Stop = new StopRule.LossBelow(1e9, 4) }, _dir.File("stop"));
        Assert.Equal(4, result.Steps);
        Assert.Equal("loss below 1000000000 on 4 consecutive steps", result.StopReason);
    }

    [Fact]
    public void StepsBudget_StopsThere_WithTheScheduleRunOverIt_UnlessTheEpochCapComesFirst()
    {
        // 12 examples in batches of 4: 3 steps an epoch, 9 in 3 epochs; a budget of 5 stops mid-epoch.
        var result = Run(Quick with { Stop = new StopRule.StepsReached(5) }, _dir.File("budget"));
        Assert.Equal(5, result.Steps);
        Assert.Equal("5 steps", result.StopReason);
        var lrs = MetricsLog.Read(Path.Combine(_dir.File("budget"), "metrics.jsonl")).Where(m => (string?)m["kind"] == "train").Select(m => (double)m["lr"]!).ToList();
        var schedule = new LearningRateSchedule(Quick.LearningRate, 5, Quick.WarmupRatio);
        Assert.Equal(5, lrs.Count);
        for (int s = 0; s < 5; s++) Assert.Equal(schedule.At(s), lrs[s], tolerance: 1e-12);

        var capped = Run(Quick with { Stop = new StopRule.StepsReached(50) }, _dir.File("capped"));
        Assert.Equal(9, capped.Steps);
        Assert.Equal("epoch cap (3)", capped.StopReason);
    }

    [Fact]
    public void AccuracyChecksBeforeTheLastStep_AreNotReportedAsTheFinalEvaluation()
    {
        var result = Run(Quick with { Stop = new StopRule.AccuracyReached(1.0, 2) }, _dir.File("checks"));
        Assert.Equal("epoch cap (3)", result.StopReason);
        Assert.Equal(9, result.Steps); // last check at step 8
        Assert.Null(result.MemorizedEvaluation);
    }

    [Fact]
    public void ADivergingRun_StopsWithOneLine_BeforeAnUpdateWithNonFiniteNumbers()
    {
        var e = Assert.Throws<InvalidInputException>(() => Run(Quick with { LearningRate = 1e30, WarmupRatio = 0 }, _dir.File("diverged")));
        // The first update (at lr 1e30) is finite; the second step's loss is not.
        Assert.StartsWith("--lr: training diverged at step 2: the loss is ", e.Message);
    }

    [Fact]
    public void TheAccuracyRuleWithoutFacts_IsRefusedBeforeTraining()
    {
        var (loaded, trainer) = Make(Quick with { Stop = new StopRule.AccuracyReached(1.0) });
        using (loaded)
        {
            var text = Example.QuestionAnswer("n", "t", "Add 2 and 3.", "5", kind: ExampleKind.NonFactoid);
            var e = Assert.Throws<InvalidInputException>(() => trainer.Train(new TrainingRun { Examples = [text], OutDir = _dir.File("no-facts") }));
            Assert.Contains("needs factoid examples", e.Message);
            Assert.False(File.Exists(Path.Combine(_dir.File("no-facts"), "metrics.jsonl")));
        }
    }

    [Fact]
    public void EpochOrders_OfNeighbouringSeeds_AreNotTheSameOrdersShifted()
    {
        using var loaded = LoadedModel.Load(_base);
        var examples = new ExampleEncoder(loaded.Tokenizer).EncodeAll(Facts).Examples;
        // With seed + epoch as the shuffling seed, seed 3's epoch e - 1 was seed 2's epoch e.
        for (int epoch = 1; epoch < 5; epoch++)
            Assert.NotEqual(BatchPlanner.Plan(examples, 4, Seeds.DataOrder(2, epoch, fixedOrder: false), false).SelectMany(b => b),
                BatchPlanner.Plan(examples, 4, Seeds.DataOrder(3, epoch - 1, fixedOrder: false), false).SelectMany(b => b));
    }

    [Fact]
    public void Metrics_AreLoggedAsJsonLinesAndTensorBoardEvents()
    {
        var result = Run(Quick with { EvalEvery = 3 }, _dir.File("m"), eval: [("facts", Facts)]);
        var lines = MetricsLog.Read(Path.Combine(_dir.File("m"), "metrics.jsonl"));
        Assert.Equal(result.Steps, lines.Count(l => (string?)l["kind"] == "train"));
        // 9 steps: evaluated at 3, 6 and 9, and the evaluation at step 9 is the final one (not repeated).
        Assert.Equal([3, 6, 9], lines.Where(l => (string?)l["kind"] == "eval/facts").Select(l => (int)l["step"]!));
        var train = lines.First(l => (string?)l["kind"] == "train");
        foreach (var key in new[] { "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "epoch" }) Assert.NotNull(train[key]);
        // The base's head_dim is 16, whole vectors at every width: where the CPU kernels run, batches are packed.
        Assert.Equal(Remix.Runtime.KernelChoices.UsesCpuKernels(Remix.Runtime.KernelChoice.Auto) ? "packed" : "padded", (string?)lines.First(l => (string?)l["kind"] == "run")["batches"]);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir.File("m"), "tensorboard"), "events.out.tfevents.*", SearchOption.AllDirectories));
        Assert.True(File.Exists(Path.Combine(_dir.File("m"), "facts.predictions.jsonl")));

        Run(Quick with { EvalEvery = 4 }, _dir.File("m4"), eval: [("facts", Facts)]);
        var every4 = MetricsLog.Read(Path.Combine(_dir.File("m4"), "metrics.jsonl")).Where(l => (string?)l["kind"] == "eval/facts");
        Assert.Equal([4, 8, 9], every4.Select(l => (int)l["step"]!)); // the end, step 9, is evaluated on its own
        Assert.True(File.Exists(Path.Combine(_dir.File("m4"), "facts.predictions.jsonl")));
    }

    [Fact]
    public void TrainingLowersTheLoss_AndMemorizesAHandfulOfFacts()
    {
        var facts = KvrGenerator.Generate(4, seed: 9);
        var (loaded, trainer) = Make(new TrainingOptions { LearningRate = 1e-2, BatchSize = 4, Epochs = 150, WarmupRatio = 0.05, Stop = new StopRule.AccuracyReached(1.0, 10) });
        using (loaded)
        {
            var result = trainer.Train(new TrainingRun { Examples = facts, OutDir = _dir.File("mem"), TokenizerSource = _base, EvalSets = [("facts", facts)] });
            Assert.Equal(1.0, result.Evaluations[0].Accuracy);
            Assert.StartsWith("accuracy on the memorized set reached 1", result.StopReason);
            // The stop rule's check that ended the run was on the final weights: the same answers as the final evaluation,
            // without its teacher-forced scores (the checks need exact match alone), which the final evaluation has.
            var (final, check) = (result.Evaluations[0].Predictions, result.MemorizedEvaluation!.Predictions);
            Assert.Equal(final.Select(p => (p.Id, p.Prediction, p.Correct, p.RougeL)), check.Select(p => (p.Id, p.Prediction, p.Correct, p.RougeL)));
            Assert.All(check, p => Assert.True(double.IsNaN(p.TokenAccuracy) && double.IsNaN(p.GoldLogProb)));
            Assert.All(final, p => Assert.True(double.IsFinite(p.TokenAccuracy) && double.IsFinite(p.GoldLogProb)));
            var log = MetricsLog.Read(Path.Combine(_dir.File("mem"), "metrics.jsonl"));
            var checks = log.Where(l => (string?)l["kind"] == "eval/memorized").ToList();
            Assert.NotEmpty(checks);
            Assert.All(checks, l => Assert.True(l["accuracy"] is not null && l["token_accuracy"] is null && l["gold_logprob"] is null));
            Assert.NotNull(log.Last(l => (string?)l["kind"] == "eval/facts")["token_accuracy"]);
            var losses = log.Where(l => (string?)l["kind"] == "train").Select(l => (double)l["loss"]!).ToList();
            Assert.True(losses[^1] < losses[0] / 10, $"loss went from {losses[0]} to {losses[^1]}");
        }
    }
}
