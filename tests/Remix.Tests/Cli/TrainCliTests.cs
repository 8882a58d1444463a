using Remix.Cli;
using Remix.Data;
using Remix.Tests.Support;

namespace Remix.Tests.Cli;

public class TrainCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => Support.Cli.Run(args);

    [Fact]
    public void TrainThenEval_OnMicroModel_WritesTheRunAndPrintsAccuracy()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("model", "init", "--out", dir.File("m"), "--hidden-size", "32").Code);
        ExampleJsonl.Write(dir.File("facts.jsonl"), KvrGenerator.Generate(6, 1));
        var corpus = Enumerable.Range(0, 3).Select(i => new Example { Id = $"d{i}", Source = "c", Kind = ExampleKind.Document, Text = string.Join(' ', Enumerable.Range(0, 120).Select(w => $"w{w}")) });
        ExampleJsonl.Write(dir.File("corpus.jsonl"), corpus);
        var words = dir.File("words.txt");
        File.WriteAllLines(words, ["alpha", "bravo", "charlie", "delta"]);

        var train = Run("train", "--model", dir.File("m"), "--data", dir.File("facts.jsonl"), "--out", dir.File("run"),
            "--epochs", "2", "--batch-size", "4", "--lr", "1e-3", "--mix", "random:1.0", "--words", words,
            "--mix", $"generic:{dir.File("corpus.jsonl")}:0.5", "--replay", $"{dir.File("facts.jsonl")}:0.5", "--eval", dir.File("facts.jsonl"));
        Assert.True(train.Code == 0, train.Err);
        Assert.Contains("steps: 10", train.Out); // 6 facts + 6 random + 3 generic + 3 replayed = 18 examples: 5 batches of 4, 2 epochs
        Assert.Contains("stop: epoch cap (2)", train.Out);
        Assert.True(File.Exists(Path.Combine(dir.File("run"), "final", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(dir.File("run"), "final", "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(dir.File("run"), "facts.predictions.jsonl")));

        var eval = Run("eval", "--model", Path.Combine(dir.File("run"), "final"), "--data", dir.File("facts.jsonl"), "--out", dir.File("pred.jsonl"));
        Assert.Equal(0, eval.Code);
        Assert.Matches(@"^accuracy: \d\.\d{4}\nrouge_l: \d\.\d{4}\n", eval.Out.Replace("\r", ""));
        Assert.Equal(6, File.ReadAllLines(dir.File("pred.jsonl")).Length);
    }

    [Fact]
    public void Precision_SetsTheDType_AndAContradictingDTypeIsOneLine()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("model", "init", "--out", dir.File("m"), "--hidden-size", "32").Code);
        ExampleJsonl.Write(dir.File("facts.jsonl"), KvrGenerator.Generate(4, 1));
        string[] train = ["train", "--model", dir.File("m"), "--data", dir.File("facts.jsonl"), "--out", dir.File("run"), "--epochs", "1", "--batch-size", "4"];

        var contradiction = Run([.. train, "--precision", "bf16-pure", "--dtype", "float32"]);
        Assert.Equal(1, contradiction.Code);
        Assert.Equal("remix: --precision: bf16-pure trains bfloat16 weights, but the dtype is float32; leave the dtype out (auto) or make them agree" + Environment.NewLine, contradiction.Err);
        var unknown = Run([.. train, "--precision", "bf16"]);
        Assert.Equal(1, unknown.Code);
        Assert.Equal("remix: --precision: expected fp32, bf16-master or bf16-pure, found \"bf16\"" + Environment.NewLine, unknown.Err);
        Assert.False(Directory.Exists(dir.File("run")));

        // --dtype auto on a CPU is float32; bf16-pure makes it bfloat16, which the final weights are saved in.
        var pure = Run([.. train, "--precision", "bf16-pure"]);
        Assert.True(pure.Code == 0, pure.Err);
        Assert.Contains("\"torch_dtype\": \"bfloat16\"", File.ReadAllText(Path.Combine(dir.File("run"), "final", "config.json")));
    }

    [Fact]
    public void TrainAndEval_ReadTheirDataWithFormatAndSkipBad_AsDataInspectDoes()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("model", "init", "--out", dir.File("m"), "--hidden-size", "32").Code);
        // Sums whose answers lack GSM8K's "#### N" cannot be detected as GSM8K; the last line is not JSON at all.
        var sums = dir.File("sums.jsonl");
        File.WriteAllText(sums, string.Concat(Enumerable.Range(1, 4).Select(i => $"{{\"question\": \"What is {i} plus {i}?\", \"answer\": \"{2 * i}\"}}\n")) + "not json\n");
        string[] train = ["train", "--model", dir.File("m"), "--data", sums, "--out", dir.File("run"), "--epochs", "1", "--batch-size", "4"];

        Assert.StartsWith($"remix: {sums}: could not tell the dataset format", Run(train).Err);
        Assert.StartsWith($"remix: {sums}: line 5: malformed JSON", Run([.. train, "--format", "gsm8k"]).Err);
        Assert.StartsWith("remix: --format: expected one of ", Run([.. train, "--format", "gsm9k"]).Err);
        Assert.False(Directory.Exists(dir.File("run")));
        var trained = Run([.. train, "--format", "gsm8k", "--skip-bad"]);
        Assert.True(trained.Code == 0, trained.Err);
        Assert.Contains("steps: 1", trained.Out); // the four sums, one batch

        string[] eval = ["eval", "--model", Path.Combine(dir.File("run"), "final"), "--data", sums, "--out", dir.File("pred.jsonl")];
        Assert.StartsWith($"remix: {sums}: could not tell the dataset format", Run(eval).Err);
        var evaluated = Run([.. eval, "--format", "gsm8k", "--skip-bad"]);
        Assert.True(evaluated.Code == 0, evaluated.Err);
        Assert.Contains("examples: 4 (", evaluated.Out);
    }

    [Theory]
    [InlineData("--words")]
    [InlineData("--random-words")]
    public void WordOptions_WithoutARandomMix_AreRefused(string option)
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("model", "init", "--out", dir.File("m"), "--hidden-size", "32").Code);
        ExampleJsonl.Write(dir.File("facts.jsonl"), KvrGenerator.Generate(4, 1));
        File.WriteAllLines(dir.File("words.txt"), ["alpha", "bravo"]);
        var r = Run("train", "--model", dir.File("m"), "--data", dir.File("facts.jsonl"), "--out", dir.File("run"),
            option, option == "--words" ? dir.File("words.txt") : "5+5", "--mix", "generic:0.5");
        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {option}: applies to random word sequences: add --mix random:RATIO, or leave it out{Environment.NewLine}", r.Err);
    }

    [Fact]
    public void LoraTargets_ThatNameNoProjection_AreRefused_EvenBesideOnesThatDo()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("model", "init", "--out", dir.File("m"), "--hidden-size", "32").Code);
        ExampleJsonl.Write(dir.File("facts.jsonl"), KvrGenerator.Generate(4, 1));
        var r = Run("train", "--model", dir.File("m"), "--data", dir.File("facts.jsonl"), "--out", dir.File("run"), "--lora", "2", "--lora-targets", "q_proj,v_prj");
        Assert.Equal(1, r.Code);
        Assert.StartsWith("remix: --lora-targets: no projection named v_prj in the model (it has ", r.Err.Split('\n').Last(l => l.Length > 0));
        Assert.False(Directory.Exists(Path.Combine(dir.File("run"), "final")));
    }

    [Fact]
    public void TrainResume_WithNothingToResume_SaysItStartsFromScratch_AndAFinishedRunIsNotTrainedAgain()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("model", "init", "--out", dir.File("m"), "--hidden-size", "32").Code);
        ExampleJsonl.Write(dir.File("facts.jsonl"), KvrGenerator.Generate(4, 1));
        string[] train = ["train", "--model", dir.File("m"), "--data", dir.File("facts.jsonl"), "--out", dir.File("run"), "--epochs", "2", "--batch-size", "4"];
        var first = Run([.. train, "--resume"]);
        Assert.True(first.Code == 0, first.Err);
        Assert.Contains($"remix: nothing to resume in {dir.File("run")} (no checkpoint): starting from scratch", first.Err);
        var weights = File.ReadAllBytes(Path.Combine(dir.File("run"), "final", "model.safetensors"));

        var again = Run(train);
        Assert.Equal(1, again.Code);
        Assert.Equal($"remix: {dir.File("run")}: already holds a finished training (final/); choose another --out{Environment.NewLine}", again.Err);
        var resumed = Run([.. train, "--resume"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains("already finished: nothing trained or evaluated", resumed.Out);
        Assert.DoesNotContain("nothing to resume", resumed.Err);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(dir.File("run"), "final", "model.safetensors")));
    }

    [Fact]
    public void Train_WithL2EwcAndKl_LogsAPenalty()
    {
        using var dir = new TempDir();
        Run("model", "init", "--out", dir.File("m"), "--hidden-size", "32");
        ExampleJsonl.Write(dir.File("a.jsonl"), KvrGenerator.Generate(4, 1));
        ExampleJsonl.Write(dir.File("b.jsonl"), KvrGenerator.Generate(4, 2));
        var r = Run("train", "--model", dir.File("m"), "--data", dir.File("b.jsonl"), "--out", dir.File("run"), "--epochs", "2",
            "--batch-size", "2", "--lr", "1e-2", "--l2", "1", "--ewc", $"10:{dir.File("a.jsonl")}", "--kl", "1");
        Assert.True(r.Code == 0, r.Err);
        var penalties = Remix.Training.MetricsLog.Read(Path.Combine(dir.File("run"), "metrics.jsonl"))
            .Where(m => (string?)m["kind"] == "train").Select(m => (double)m["penalty"]!).ToList();
        Assert.Equal(0, penalties[0]);           // at the anchor every penalty is zero
        Assert.True(penalties[^1] > 0);          // after updates the model has moved
    }

    [Fact]
    public void Train_WithLora_KeepsAnAdapter_OrMergesIt()
    {
        using var dir = new TempDir();
        Run("model", "init", "--out", dir.File("m"), "--hidden-size", "32");
        ExampleJsonl.Write(dir.File("a.jsonl"), KvrGenerator.Generate(4, 1));
        var adapter = Run("train", "--model", dir.File("m"), "--data", dir.File("a.jsonl"), "--out", dir.File("adapter"), "--epochs", "2", "--lr", "1e-2", "--lora", "4");
        Assert.True(adapter.Code == 0, adapter.Err);
        Assert.True(File.Exists(Path.Combine(dir.File("adapter"), "final", "adapter_model.safetensors")));
        Assert.Contains("\"r\": 4", File.ReadAllText(Path.Combine(dir.File("adapter"), "final", "adapter_config.json")));
        var merged = Run("train", "--model", dir.File("m"), "--data", dir.File("a.jsonl"), "--out", dir.File("merged"), "--epochs", "2", "--lr", "1e-2", "--lora", "4:8", "--lora-merge");
        Assert.True(merged.Code == 0, merged.Err);
        Assert.False(File.Exists(Path.Combine(dir.File("merged"), "final", "adapter_model.safetensors")));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(dir.File("m"), "model.safetensors")), File.ReadAllBytes(Path.Combine(dir.File("merged"), "final", "model.safetensors")));
    }

    [Theory]
    [InlineData("--lora", "0", "remix: --lora: expected RANK[:ALPHA] such as 8:16, found \"0\"")]
    [InlineData("--ewc", "lots", "remix: --ewc: expected STRENGTH:FILE such as 100:d_a.jsonl, found \"lots\"")]
    [InlineData("--stop", "sometimes", "remix: --stop: expected epochs, steps:N, loss:THRESHOLD:K[:cumulative] or accuracy:TARGET[:EVERY], found \"sometimes\"")]
    [InlineData("--mix", "noise:2", "remix: --mix: expected random:RATIO, generic:RATIO or generic:FILE:RATIO, found \"noise:2\"")]
    [InlineData("--lr", "-1", "remix: --lr: expected a positive number, found -1")]
    public void BadTrainOptions_AreRefusedInOneLine(string option, string value, string message)
    {
        using var dir = new TempDir();
        Run("model", "init", "--out", dir.File("m"));
        ExampleJsonl.Write(dir.File("facts.jsonl"), KvrGenerator.Generate(2, 1));
        var r = Run("train", "--model", dir.File("m"), "--data", dir.File("facts.jsonl"), "--out", dir.File("run"), option, value);
        Assert.Equal(1, r.Code);
        Assert.Equal(message + Environment.NewLine, r.Err);
    }
}
