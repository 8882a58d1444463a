using Remix.Cli;
using Remix.Data;
using Remix.Experiments;
using Remix.Tests.Support;

namespace Remix.Tests.Cli;

/// <summary><c>remix train</c> is a one-stage experiment: the same mixed examples and the same weights as a one-stage <c>remix run</c>.</summary>
public sealed class TrainAsOneStageTests : IDisposable
{
    readonly TempDir _dir = new();

    public TrainAsOneStageTests()
    {
        ExampleJsonl.Write(_dir.File("a.jsonl"), KvrGenerator.Generate(6, 1));
        ExampleJsonl.Write(_dir.File("corpus.jsonl"), Enumerable.Range(0, 3).Select(i => new Example
        {
            Id = $"d{i}", Source = "c", Kind = ExampleKind.Document, Text = string.Join(' ', Enumerable.Range(0, 120).Select(w => $"w{i}-{w}")),
        }));
    }

    public void Dispose() => _dir.Dispose();

    ExperimentSpec OneStageSpec(string top, string stageKeys)
    {
        var path = _dir.File("spec.yaml");
        File.WriteAllText(path, $"name: one\nbase_model: base\n{top}\nstages:\n  - {{name: a, data: a.jsonl, {stageKeys}}}\n");
        Directory.CreateDirectory(_dir.File("base"));
        return ExperimentSpec.Load(path);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void RemixTrainsMixedExamples_AreAOneStageSpecs_ForTheSameSeed(int seed)
    {
        var spec = OneStageSpec($"seed: {seed}", "mix: [{source: random, ratio: 2.0}, {source: generic, ratio: 0.5, file: corpus.jsonl}]");
        var own = DatasetReader.Read(_dir.File("a.jsonl")).Examples.ToList();
        var runner = new ExperimentRunner(spec).TrainingSet(spec.Stages[0], 0, [own], Seeds.Stage(spec.Stages[0].Recipe.Seed, spec.Seeds[0]));

        // As remix train --mix random:2.0 --mix generic:corpus.jsonl:0.5 --seed SEED builds them.
        MixSpec[] mix = [StageOptions.Mix("random:2.0"), StageOptions.Mix($"generic:{_dir.File("corpus.jsonl")}:0.5")];
        var cli = TrainCommands.TrainingSet(own, mix, [], Seeds.Stage(new Remix.Training.TrainingOptions().Seed, seed));

        Assert.Equal(6 + 12 + 3, cli.Count);
        Assert.Equal(runner.Select(e => e.Id), cli.Select(e => e.Id));
        Assert.Equal(runner.Select(ExampleJsonl.ToJson), cli.Select(ExampleJsonl.ToJson));
    }

    [Theory]
    // The brief's case: random words at ratio 2 under run seed 3.
    [InlineData("--mix random:2.0 --seed 3", "seed: 3", "mix: [{source: random, ratio: 2.0}]")]
    // A stage seed of 3 from the spec's run seed 1 plus its recipe seed 2; generic passages, LoRA merged, KL.
    [InlineData("--mix generic:CORPUS:0.5 --lora 2:4 --lora-merge --kl 0.5 --seed 3", "seed: 1",
        "mix: [{source: generic, ratio: 0.5, file: corpus.jsonl}], lora: {rank: 2, alpha: 4}, regularizer: {type: kl, strength: 0.5}, recipe: {seed: 2}")]
    // EWC on the stage's own set: a first stage's previous set is its own; fixed order.
    [InlineData("--ewc 10:DATA --l2 0 --fixed-order --seed 5", "seed: 5", "regularizer: {type: ewc, strength: 10}, recipe: {fixed_order: true}")]
    public void RemixTrain_AndAOneStageRun_TrainTheSameWeights(string options, string top, string stageKeys)
    {
        Assert.Equal(0, Support.Cli.Run("model", "init", "--out", _dir.File("base"), "--hidden-size", "32").Code);
        var recipe = "--epochs 2 --batch-size 4 --lr 1e-2";
        var args = $"{recipe} {options}".Replace("CORPUS", _dir.File("corpus.jsonl")).Replace("DATA", _dir.File("a.jsonl")).Split(' ');
        var train = Support.Cli.Run(["train", "--model", _dir.File("base"), "--data", _dir.File("a.jsonl"), "--out", _dir.File("train"), .. args]);
        Assert.True(train.Code == 0, train.Err);

        var spec = OneStageSpec($"{top}\nrecipe: {{epochs: 2, batch_size: 4, lr: 0.01}}", stageKeys);
        var run = Support.Cli.Run("run", "--config", _dir.File("spec.yaml"), "--out", _dir.File("runs"));
        Assert.True(run.Code == 0, run.Err);

        var trained = Path.Combine(RunLayout.StageDirectory(RunLayout.SeedDirectory(_dir.File("runs"), spec.Seeds[0]), 1, "a"), "final", "model.safetensors");
        var weights = File.ReadAllBytes(Path.Combine(_dir.File("train"), "final", "model.safetensors"));
        Assert.NotEqual(File.ReadAllBytes(_dir.File("base/model.safetensors")), weights); // it trained
        Assert.Equal(File.ReadAllBytes(trained), weights);
    }

    [Theory]
    [InlineData(new[] { "--mix", "random:-1" }, "remix: --mix: expected a non-negative ratio in \"random:-1\"")]
    [InlineData(new[] { "--mix", "generic:missing.jsonl:1" }, "remix: --mix: missing.jsonl: file not found")]
    [InlineData(new[] { "--mix", "random:1", "--random-words", "10" }, "remix: --random-words: expected PROMPT+TARGET word counts such as 10+10, found \"10\"")]
    [InlineData(new[] { "--mix", "random:1", "--words", "missing.txt" }, "remix: --words: missing.txt: file not found")]
    [InlineData(new[] { "--replay", "facts.jsonl" }, "remix: --replay: expected FILE:FRACTION such as d_a.jsonl:0.1, found \"facts.jsonl\"")]
    [InlineData(new[] { "--replay", "CORPUS:0.5" }, "remix: --replay: CORPUS: no examples to learn (only documents)")]
    [InlineData(new[] { "--ewc", "10:missing.jsonl" }, "remix: --ewc: missing.jsonl: file not found")]
    [InlineData(new[] { "--l2", "-1" }, "remix: --l2: expected a non-negative strength, found -1")]
    [InlineData(new[] { "--kl", "-2" }, "remix: --kl: expected a non-negative strength, found -2")]
    [InlineData(new[] { "--lora", "4:0" }, "remix: --lora: expected RANK[:ALPHA] such as 8:16, found \"4:0\"")]
    [InlineData(new[] { "--lora", "2", "--lora-targets", "," }, "remix: --lora-targets: expected projection names such as q_proj,v_proj, found \",\"")]
    public void BadStageOption_IsRefusedInOneLine_BeforeAnythingIsWritten(string[] options, string message)
    {
        var corpus = _dir.File("corpus.jsonl");
        var r = Support.Cli.Run(["train", "--model", _dir.File("no-model-needed"), "--data", _dir.File("a.jsonl"), "--out", _dir.File("run"),
            .. options.Select(o => o.Replace("CORPUS", corpus))]);
        Assert.Equal(1, r.Code);
        Assert.Equal(message.Replace("CORPUS", corpus) + Environment.NewLine, r.Err);
        Assert.False(Directory.Exists(_dir.File("run")));
    }
}
