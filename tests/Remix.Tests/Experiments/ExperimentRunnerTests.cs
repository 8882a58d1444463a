using System.Text.Json;
using Remix.Checkpoints;
using Remix.Data;
using Remix.Experiments;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

public class ExperimentRunnerTests
{
    [Fact]
    public void ThreeStageYaml_RunsAndReportsA3x3Matrix_AndIsNotRedone()
    {
        using var dir = new TempDir();
        var (a, b) = BaseModelAndTwoSets(dir);
        ExampleJsonl.Write(dir.File("c.jsonl"), KvrGenerator.Generate(6, 9, exclude: a.Concat(b), idPrefix: "c"));
        File.WriteAllText(dir.File("words.txt"), "alpha\nbravo\ncharlie\ndelta\n");
        File.WriteAllText(dir.File("spec.yaml"), """
            name: three-stage
            base_model: base
            seeds: [0]
            logit_lens: true
            recipe: {lr: 0.01, epochs: 3, batch_size: 4, warmup_ratio: 0, eval_every: 2}
            stages:
              - name: A
                data: a.jsonl
                mix: [{source: random, ratio: 1.0, file: words.txt, prompt_words: 2, target_words: 2}]
              - name: B
                data: [b.jsonl]
                replay: {stage: A, fraction: 0.5}
                regularizer: {type: l2, strength: 0.1}
              - name: C
                data: c.jsonl
                lora: {rank: 2, alpha: 4}
                recipe: {epochs: 2}
            """);
        var run = Support.Cli.Run("run", "--config", dir.File("spec.yaml"), "--out", dir.File("runs"));
        Assert.True(run.Code == 0, run.Err);
        var runDir = Path.Combine(dir.File("runs"), "seed-0");
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "results.json")));
        var matrix = results.RootElement.GetProperty("accuracy_matrix");
        Assert.Equal(3, matrix.GetArrayLength());
        Assert.All(matrix.EnumerateArray(), row => Assert.Equal(3, row.GetArrayLength()));
        Assert.All(matrix.EnumerateArray().SelectMany(r => r.EnumerateArray()), v => Assert.InRange(v.GetDouble(), 0, 1));
        Assert.Equal(6, results.RootElement.GetProperty("facts").GetProperty("A").EnumerateObject().Count());
        // Graded scores beside exact match: answer-token accuracy in [0, 1] and gold log-probabilities below 0, a 3 x 3 matrix each.
        Assert.All(results.RootElement.GetProperty("token_accuracy_matrix").EnumerateArray().SelectMany(r => r.EnumerateArray()), v => Assert.InRange(v.GetDouble(), 0, 1));
        Assert.All(results.RootElement.GetProperty("gold_logprob_matrix").EnumerateArray().SelectMany(r => r.EnumerateArray()), v => Assert.InRange(v.GetDouble(), double.MinValue, 0));
        Assert.Equal(9, results.RootElement.GetProperty("gold_logprob_matrix").EnumerateArray().SelectMany(r => r.EnumerateArray()).Count());
        Assert.Equal(3, results.RootElement.GetProperty("facts").GetProperty("A").EnumerateObject().First().Value.GetProperty("correct_after_stage").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(runDir, "DONE")));
        AssertPredictionsBehindEveryCell(runDir, results.RootElement, new() { ["A"] = 6, ["B"] = 6, ["C"] = 6 });
        Assert.Equal("stage-2-B/eval-A.predictions.jsonl", results.RootElement.GetProperty("predictions_after_stage").GetProperty("B").GetProperty("A").GetString());
        // LoRA stage C is merged: its final model is the full weights, with no adapter beside them to apply again.
        Assert.False(File.Exists(Path.Combine(runDir, "stage-3-C", "final", Remix.Checkpoints.PeftAdapter.WeightsFile)));
        // The lens after each stage, on every stage's set: one row per fact, a rank per layer point (embedding + 2 layers).
        var lensCsv = File.ReadAllLines(Path.Combine(runDir, "stage-3-C", "logit-lens", "A", "A.csv"));
        Assert.Equal(7, lensCsv.Length);
        Assert.EndsWith("rank_0,rank_1,rank_2,prob_0,prob_1,prob_2", lensCsv[0]);
        Assert.Contains("| after \\ on | A | B | C |", File.ReadAllText(Path.Combine(runDir, "results.md")));
        // Read back, the lens CSV gives summary.json's decodable fraction at every layer.
        var lens = Remix.Analysis.LensReport.ReadCsv(Path.Combine(runDir, "stage-3-C", "logit-lens", "A", "A.csv"), "A");
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "stage-3-C", "logit-lens", "A", "summary.json"))))
            Assert.Equal(summary.RootElement.GetProperty("models")[0].GetProperty("decodable_fraction").EnumerateArray().Select(v => v.GetDouble()),
                Enumerable.Range(0, lens.Points).Select(lens.DecodableFraction));
        // Every evaluation during a later stage records each fact: their count right and mean log-probability are the set's.
        var stageC = Remix.Reporting.StageLog.Read(Path.Combine(runDir, "stage-3-C"))!;
        Assert.Equal(["A", "B"], stageC.Evaluations.Select(e => e.Set).Distinct());
        foreach (var e in stageC.Evaluations)
        {
            Assert.Equal(6, e.Facts!.Count);
            Assert.Equal(e.Accuracy, e.Facts.Values.Count(f => f.Correct) / 6.0, 1e-12);
            Assert.Equal(e.GoldLogProb, e.Facts.Values.Average(f => f.GoldLogProb), 1e-5); // each fact's rounded to 6 places
        }
        // The stage's last evaluation is the one after it: its facts are results.json's outcomes after C.
        var lastOnA = stageC.Evaluations.Last(e => e.Set == "A");
        Assert.Equal(stageC.Steps, lastOnA.Step);
        foreach (var fact in results.RootElement.GetProperty("facts").GetProperty("A").EnumerateObject())
            Assert.Equal(fact.Value.GetProperty("correct_after_stage")[2].GetBoolean(), lastOnA.Facts![fact.Name].Correct);
        Assert.True(File.Exists(Path.Combine(dir.File("runs"), Remix.Reporting.HtmlReport.FileName)), run.Out);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(runDir, "results.csv")).Length);

        var report = Support.Cli.Run("report", dir.File("runs"), "--out", dir.File("report"));
        Assert.True(report.Code == 0, report.Err);
        Assert.Contains("| three-stage | 1 |", report.Out);
        foreach (var png in new[] { "forgetting-curves.png", "retention.png" })
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(dir.File("report"), png))[..4]);

        var stamp = File.GetLastWriteTimeUtc(Path.Combine(runDir, "results.json"));
        var again = Support.Cli.Run("run", "--config", dir.File("spec.yaml"), "--out", dir.File("runs"));
        Assert.Equal(0, again.Code);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(runDir, "results.json"))); // DONE: nothing redone
    }

    [Fact]
    public void JointTraining_TrainsOnceOnAllData_AndForgetsNothingByDefinition()
    {
        using var dir = new TempDir();
        Support.Cli.Run("model", "init", "--out", dir.File("base"), "--hidden-size", "32");
        var (a, b) = KvrGenerator.GeneratePair(4, 4, 2);
        ExampleJsonl.Write(dir.File("a.jsonl"), a);
        ExampleJsonl.Write(dir.File("b.jsonl"), b);
        File.WriteAllText(dir.File("joint.yaml"), "name: joint\nbase_model: base\njoint: true\nrecipe: {lr: 0.01, epochs: 2, batch_size: 4}\nstages:\n  - {name: A, data: a.jsonl}\n  - {name: B, data: b.jsonl}\n");
        var r = Support.Cli.Run("run", "--config", dir.File("joint.yaml"), "--out", dir.File("runs"));
        Assert.True(r.Code == 0, r.Err);
        var runDir = Path.Combine(dir.File("runs"), "seed-0");
        Assert.True(Directory.Exists(Path.Combine(runDir, "stage-1-joint", "final")));
        Assert.Equal(4, Remix.Training.MetricsLog.Read(Path.Combine(runDir, "stage-1-joint", "metrics.jsonl")).Count(m => (string?)m["kind"] == "train")); // 8 examples / 4 x 2 epochs
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "results.json")));
        Assert.True(results.RootElement.GetProperty("joint").GetBoolean());
        var m = results.RootElement.GetProperty("accuracy_matrix");
        Assert.Equal(m[0].GetRawText(), m[1].GetRawText());
        Assert.Equal(0, results.RootElement.GetProperty("forgetting").GetProperty("A").GetDouble());
        AssertPredictionsBehindEveryCell(runDir, results.RootElement, new() { ["A"] = 4, ["B"] = 4 });
    }

    /// <summary>results.json names, for every stage and set, a predictions file in the run folder with one line per fact of the set.</summary>
    static void AssertPredictionsBehindEveryCell(string runDir, JsonElement results, Dictionary<string, int> setSizes)
    {
        var rows = results.GetProperty("predictions_after_stage").EnumerateObject().ToList();
        Assert.Equal(results.GetProperty("stages").EnumerateArray().Select(s => s.GetString()), rows.Select(r => r.Name));
        foreach (var row in rows)
        {
            Assert.Equal(setSizes.Keys, row.Value.EnumerateObject().Select(c => c.Name));
            foreach (var cell in row.Value.EnumerateObject())
            {
                var path = Path.Combine(runDir, cell.Value.GetString()!);
                Assert.True(File.Exists(path), $"after {row.Name}, {cell.Name}: {path} is missing");
                var ids = File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()).ToList();
                Assert.Equal(setSizes[cell.Name], ids.Count);
                Assert.Equal(results.GetProperty("facts").GetProperty(cell.Name).EnumerateObject().Select(f => f.Name).Order(), ids.Order());
            }
        }
    }

    [Fact]
    public void SharedStages_AStageOneThatIsTheSameIsTrainedOnce_AndOnlyThen()
    {
        using var dir = new TempDir();
        var (a, b) = BaseModelAndTwoSets(dir);
        File.WriteAllText(dir.File("words.txt"), "alpha\nbravo\ncharlie\ndelta\n");
        ExperimentSpec Spec(string name, string stageA, string stageB) =>
            ExperimentSpec.Load(Write(dir.File(name + ".yaml"), $"name: {name}\nbase_model: base\nrecipe: {{lr: 0.01, epochs: 2, batch_size: 4}}\nstages:\n  - {stageA}\n  - {stageB}\n"));
        const string plainA = "{name: A, data: a.jsonl}", mixedA = "{name: A, data: a.jsonl, mix: [{source: random, ratio: 1.0, file: words.txt}]}";
        var shared = dir.File("shared");
        void Run(ExperimentSpec spec) => new ExperimentRunner(spec) { SharedStages = shared }.Run(dir.File(spec.Name), 0);

        Run(Spec("naive", plainA, "{name: B, data: b.jsonl}"));
        Run(Spec("l2", plainA, "{name: B, data: b.jsonl, regularizer: {type: l2, strength: 0.1}}"));
        Run(Spec("mixed", mixedA, "{name: B, data: b.jsonl}"));
        ExampleJsonl.Write(dir.File("c.jsonl"), KvrGenerator.Generate(4, 9, exclude: a.Concat(b), idPrefix: "c"));
        Run(Spec("other-b", plainA, "{name: B, data: c.jsonl}"));

        // The same stage 1 is copied (its log, with its timings, is byte for byte the first run's); a different one is trained.
        string Log(string run) => File.ReadAllText(Path.Combine(dir.File(run), "stage-1-A", "metrics.jsonl"));
        Assert.Equal(Log("naive"), Log("l2"));
        Assert.Equal(Log("naive"), Log("other-b")); // a different later set is evaluated after the same stage-1 training
        Assert.Contains("\"c-0\"", File.ReadAllText(Path.Combine(dir.File("other-b"), "stage-1-A", "evaluation.json")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.File("naive"), "stage-1-A", "final", "model.safetensors")),
            File.ReadAllBytes(Path.Combine(dir.File("l2"), "stage-1-A", "final", "model.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(dir.File("l2"), "stage-1-A", "checkpoints")));
        Assert.NotEqual(Log("naive"), Log("mixed"));
        Assert.Equal(2, Directory.GetDirectories(shared, "1-A-*").Length);
        Assert.Equal(4, Directory.GetDirectories(shared, "2-B-*").Length);
    }

    [Fact]
    public void StageEvaluation_ReusingTheTrainersFinalEvaluations_EqualsEvaluatingTheSavedModelAgain()
    {
        using var dir = new TempDir();
        var (a, b) = BaseModelAndTwoSets(dir);
        // Stage B tracks A every step and checks its own set after every epoch: both of the trainer's last
        // evaluations are on the final weights; the runner takes A's instead of evaluating again, and evaluates B
        // again (the stop rule's checks score exact match alone), so every recorded score is the full evaluation's.
        var spec = ExperimentSpec.Load(Write(dir.File("spec.yaml"), """
            name: reuse
            base_model: base
            recipe: {lr: 0.01, epochs: 2, batch_size: 4, warmup_ratio: 0, stop: "accuracy:1.0"}
            stages:
              - {name: A, data: a.jsonl}
              - {name: B, data: b.jsonl, recipe: {eval_every: 1}}
            """));
        new ExperimentRunner(spec).Run(dir.File("run"), 0);

        foreach (var stage in new[] { "stage-1-A", "stage-2-B" })
        {
            using var saved = Remix.Checkpoints.LoadedModel.Load(Path.Combine(dir.File("run"), stage, "final"));
            using var evaluation = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("run"), stage, "evaluation.json")));
            foreach (var (name, set) in new[] { ("A", a), ("B", b) })
            {
                var again = new Remix.Evaluation.Evaluator(saved).Evaluate(name, set);
                var recorded = evaluation.RootElement.GetProperty(name);
                foreach (var (score, value) in again.Scores()) Assert.Equal(value, recorded.GetProperty(score).GetDouble());
                Assert.Equal(again.Predictions.Select(p => p.Correct), recorded.GetProperty("correct").EnumerateObject().Select(p => p.Value.GetBoolean()));
            }
        }
        // The trainer's evaluation of A after its last step is what the stage evaluation recorded.
        Assert.Equal(File.ReadAllText(Path.Combine(dir.File("run"), "stage-2-B", "A.predictions.jsonl")),
            File.ReadAllText(Path.Combine(dir.File("run"), "stage-2-B", "eval-A.predictions.jsonl")));
    }

    [Fact]
    public void TwoStagesMixingFromTheSameSource_DrawDifferentExamples()
    {
        using var dir = new TempDir();
        var (a, b) = BaseModelAndTwoSets(dir);
        File.WriteAllText(dir.File("words.txt"), string.Join('\n', Enumerable.Range(0, 200).Select(i => $"word{i}")));
        var spec = ExperimentSpec.Load(Write(dir.File("spec.yaml"), """
            name: mixed-twice
            base_model: base
            stages:
              - {name: A, data: a.jsonl, mix: [{source: random, ratio: 2.0, file: words.txt}]}
              - {name: B, data: b.jsonl, mix: [{source: random, ratio: 2.0, file: words.txt}]}
            """));
        var runner = new ExperimentRunner(spec);
        List<List<Example>> sets = [a, b];
        string Random(Example e) => e.Question + "|" + e.Target;
        var first = runner.TrainingSet(spec.Stages[0], 0, sets, 0).Skip(a.Count).Select(Random).ToList();
        var second = runner.TrainingSet(spec.Stages[1], 1, sets, 0).Skip(b.Count).Select(Random).ToList();
        Assert.Equal(12, first.Count);
        Assert.Equal(12, second.Count);
        Assert.Empty(first.Intersect(second));
        Assert.Equal(first, runner.TrainingSet(spec.Stages[0], 0, sets, 0).Skip(a.Count).Select(Random)); // and deterministic
    }

    [Fact]
    public void ASetWithoutGoldAnswers_IsJudgedByRougeL_InRAndItsSummaries()
    {
        using var dir = new TempDir();
        var (a, _) = BaseModelAndTwoSets(dir);
        ExampleJsonl.Write(dir.File("text.jsonl"), Enumerable.Range(0, 4).Select(i =>
            Example.QuestionAnswer($"t{i}", "t", $"Add {i} and 2.", $"{i} plus 2 is {i + 2}.", kind: ExampleKind.NonFactoid)));
        var spec = ExperimentSpec.Load(Write(dir.File("spec.yaml"), "name: text\nbase_model: base\nrecipe: {lr: 0.01, epochs: 2, batch_size: 4}\nstages:\n  - {name: A, data: a.jsonl}\n  - {name: B, data: text.jsonl}\n"));
        var results = new ExperimentRunner(spec).Run(dir.File("run"), 0);
        Assert.Equal(["accuracy", "rouge_l"], results.ScoredBy!);
        Assert.Equal(0, results.AccuracyMatrix[1][1]); // no gold answers: exact match cannot score
        Assert.Equal(results.RougeLMatrix![1][1], results.ScoreMatrix![1][1]);
        Assert.Equal(results.AccuracyMatrix[1][0], results.ScoreMatrix[1][0]);
        Assert.Equal((results.ScoreMatrix[1][0]!.Value + results.ScoreMatrix[1][1]!.Value) / 2, results.FinalAverage!.Value, tolerance: 1e-12);
        Assert.Contains("| after \\ on | A | B (ROUGE-L) |", File.ReadAllText(Path.Combine(dir.File("run"), "results.md")));
    }

    /// <summary>A random base model in base/ and two disjoint KVR sets of 6 in a.jsonl and b.jsonl.</summary>
    internal static (List<Example> A, List<Example> B) BaseModelAndTwoSets(TempDir dir)
    {
        Assert.Equal(0, Support.Cli.Run("model", "init", "--out", dir.File("base"), "--hidden-size", "32").Code);
        var (a, b) = KvrGenerator.GeneratePair(6, 6, 1);
        ExampleJsonl.Write(dir.File("a.jsonl"), a);
        ExampleJsonl.Write(dir.File("b.jsonl"), b);
        return (a, b);
    }

    internal static string Write(string path, string text)
    {
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void AStageFinishedButNotEvaluated_IsEvaluatedFromItsFinalModel_NotTrainedAgain()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        var spec = ExperimentSpec.Load(Write(dir.File("spec.yaml"),
            "name: late\nbase_model: base\nrecipe: {lr: 0.01, epochs: 2, batch_size: 4}\nstages:\n  - {name: A, data: a.jsonl}\n  - {name: B, data: b.jsonl, lora: {rank: 2}}\n"));
        var runDir = dir.File("run");
        var first = new ExperimentRunner(spec).Run(runDir, 0);
        // Stopped after stage B's training was marked finished, before its evaluation was written.
        var stageB = Path.Combine(runDir, "stage-2-B");
        foreach (var file in new[] { Path.Combine(runDir, "DONE"), Path.Combine(runDir, "results.json"), Path.Combine(stageB, "evaluation.json") }) File.Delete(file);
        var log = File.ReadAllText(Path.Combine(stageB, "metrics.jsonl"));

        var again = new ExperimentRunner(spec).Run(runDir, 0);
        Assert.Equal(log, File.ReadAllText(Path.Combine(stageB, "metrics.jsonl"))); // nothing trained again
        Assert.Equal(first.GoldLogprobMatrix!.SelectMany(r => r), again.GoldLogprobMatrix!.SelectMany(r => r));
        Assert.True(File.Exists(Path.Combine(runDir, "DONE")));
    }

    [Fact]
    public void AStagesPrecision_SetsTheDTypeItTrainsAndIsEvaluatedIn_StageByStage()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        // dtype auto: float32 on this CPU, but stage A's bf16-pure trains bfloat16 weights; stage B, with no precision, float32.
        var spec = ExperimentSpec.Load(Write(dir.File("spec.yaml"),
            "name: modes\nbase_model: base\nrecipe: {lr: 0.01, epochs: 1, batch_size: 4}\nstages:\n  - {name: A, data: a.jsonl, recipe: {precision: bf16-pure}}\n  - {name: B, data: b.jsonl}\n"));
        var runDir = dir.File("run");
        var first = new ExperimentRunner(spec).Run(runDir, 0);
        string SavedDType(string stage) => Remix.Checkpoints.HfCheckpoint.LoadConfig(Path.Combine(runDir, stage, "final")).TorchDtype;
        Assert.Equal(("bfloat16", "float32"), (SavedDType("stage-1-A"), SavedDType("stage-2-B")));

        // Evaluated again from its saved model, stage A scores as the trainer's bfloat16 model did, not as a float32 load would.
        foreach (var file in new[] { Path.Combine(runDir, "DONE"), Path.Combine(runDir, "results.json"), Path.Combine(runDir, "stage-1-A", "evaluation.json") }) File.Delete(file);
        var again = new ExperimentRunner(spec).Run(runDir, 0);
        Assert.Equal(first.GoldLogprobMatrix!.SelectMany(r => r), again.GoldLogprobMatrix!.SelectMany(r => r));
    }

    [Fact]
    public void SaveEveryAndKeepCheckpoints_FromASpec_ReachTheTrainer()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        var spec = ExperimentSpec.Load(Write(dir.File("spec.yaml"), """
            name: kept
            base_model: base
            recipe: {lr: 0.01, epochs: 2, batch_size: 4, save_every: 1}
            stages:
              - {name: A, data: a.jsonl, recipe: {keep_checkpoints: true}}
              - {name: B, data: b.jsonl}
            """));
        Assert.Equal((1, true, false), (spec.Stages[0].Recipe.SaveEvery, spec.Stages[0].Recipe.KeepCheckpoints, spec.Stages[1].Recipe.KeepCheckpoints));
        new ExperimentRunner(spec).Run(dir.File("run"), 0);
        var kept = Path.Combine(dir.File("run"), "stage-1-A", "checkpoints");
        int steps = Remix.Training.TrainingCheckpoint.Finished(Path.Combine(dir.File("run"), "stage-1-A"))!.Step;
        Assert.Equal(steps, Directory.GetDirectories(kept, "step-*").Length); // one per step, the last included
        Assert.False(Directory.Exists(Path.Combine(dir.File("run"), "stage-2-B", "checkpoints")));
    }

    [Fact]
    public void TheReadmesSpecExample_Validates()
    {
        using var dir = new TempDir();
        var readme = File.ReadAllText(Remix.Data.Bundled.BundledPaths.Find("README.md"));
        var block = System.Text.RegularExpressions.Regex.Match(readme, "`remix run --config spec.yaml`.*?```yaml\n(.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(block.Success, "README.md has no spec example after `remix run --config spec.yaml`");
        var r = Support.Cli.Run("run", "--config", Write(dir.File("spec.yaml"), block.Groups[1].Value), "--validate");
        Assert.True(r.Code == 0, r.Err);
        var spec = ExperimentSpec.Load(dir.File("spec.yaml"));
        Assert.True(spec.Stages[0].Recipe.EvalEvery > 0, "the example's forgetting curve needs eval_every");
    }

    [Fact]
    public void PaperExample_ValidatesHere_ListingWhatIsMissing()
    {
        var path = Remix.Data.Bundled.BundledPaths.Find("examples/paper-llama3-8b.yaml");
        var spec = ExperimentSpec.Load(path, requireFiles: false);
        Assert.Equal(("cuda", "bfloat16", 2), (spec.Device, spec.DType, spec.Stages.Count));
        Assert.Equal("loss:0.0001:10", spec.Stages[0].Recipe.Stop.ToString());
        Assert.Equal(5e-5, spec.Stages[1].Recipe.LearningRate);
        Assert.Contains("checkpoints/Meta-Llama-3-8B", spec.MissingPaths);
        var r = Support.Cli.Run("run", "--config", path, "--validate");
        Assert.Equal(0, r.Code);
        Assert.EndsWith("valid" + Environment.NewLine, r.Out);
        Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(path)); // to run, the files must exist
    }

    [Fact]
    public void BadSpec_IsRefusedAtTheLineAndColumnOfTheValue_NamingTheKeyPath()
    {
        using var dir = new TempDir();
        Support.Cli.Run("model", "init", "--out", dir.File("base"));
        ExampleJsonl.Write(dir.File("a.jsonl"), KvrGenerator.Generate(2, 1));
        var path = dir.File("spec.yaml");
        string Refusal(string fifthLine)
        {
            File.WriteAllText(path, $"base_model: base\nstages:\n  - name: A\n    data: a.jsonl\n{fifthLine}\n");
            var r = Support.Cli.Run("run", "--config", path, "--validate");
            Assert.Equal(1, r.Code);
            Assert.StartsWith($"remix: {path}:", r.Err);
            Assert.Single(r.Err.TrimEnd().Split(Environment.NewLine));
            return r.Err[$"remix: {path}:".Length..].TrimEnd();
        }
        Assert.Equal("5:21: stages[0].replay.stage: expected an earlier stage's name (this is the first stage), found \"Z\"", Refusal("    replay: {stage: Z, fraction: 0.1}"));
        Assert.Equal("5:20: stages[0].mix[0].source: expected random or generic, found \"noise\"", Refusal("    mix: [{source: noise, ratio: 1}]"));
        Assert.StartsWith("5:18: stages[0].regularizer: expected kl or none with 'lora'", Refusal("    regularizer: {type: ewc, strength: 1}\n    lora: {rank: 2}"));
        Assert.Equal("5:39: stages[0].lora.targets[1]: expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj or lm_head, found 7", Refusal("    lora: {rank: 2, targets: [q_proj, 7]}"));
        Assert.StartsWith("5:53: stages[0].mix[0].prompt_words: expected no word counts for generic passages", Refusal("    mix: [{source: generic, ratio: 1, prompt_words: 20}]"));
        // Device and dtype are spelled as for --device and --dtype; a GPU spec validates on a machine without one.
        string Spec(string extra) => Write(dir.File("spec.yaml"), $"base_model: base\n{extra}\nstages:\n  - name: A\n    data: a.jsonl\n");
        Assert.Contains("spec.yaml:2:9: device: expected cpu, cuda or cuda:N, found \"cuda:abc\"", Support.Cli.Run("run", "--config", Spec("device: cuda:abc"), "--validate").Err);
        Assert.Contains("spec.yaml:2:8: dtype: expected auto, float32, bfloat16 or float16, found \"fp8\"", Support.Cli.Run("run", "--config", Spec("dtype: fp8"), "--validate").Err);
        Assert.Equal("cuda:1", ExperimentSpec.Load(Spec("device: CUDA:1\ndtype: bfloat16")).Device);
        Assert.Equal("cpu", ExperimentSpec.Load(Spec("device: CPU")).Device);
    }
}
