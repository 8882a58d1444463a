using System.CommandLine;
using Remix.Cli;
using Remix.Data;
using Remix.Tests.Support;

namespace Remix.Tests.Cli;

/// <summary>An output option never replaces what is already there unless --force says so.</summary>
public class OverwriteCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => Support.Cli.Run(args);

    static void AssertRefused((int Code, string Out, string Err) r, string path)
    {
        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {path}: {(Directory.Exists(path) ? "is a folder that is not empty" : "already exists")}; --force replaces it{Environment.NewLine}", r.Err);
    }

    [Fact]
    public void Kvr_ToAnExistingFile_IsRefusedAndLeavesItAlone_UnlessForced()
    {
        using var dir = new TempDir();
        var facts = dir.File("facts.jsonl");
        Assert.Equal(0, Run("data", "kvr", "--n", "100", "--out", facts).Code);
        var before = File.ReadAllText(facts);

        AssertRefused(Run("data", "kvr", "--n", "5", "--out", facts), facts);
        Assert.Equal(before, File.ReadAllText(facts));
        Assert.Equal(100, File.ReadAllLines(facts).Length);
        // --out-b is checked before anything is written: the fresh --out stays unwritten too.
        var fresh = dir.File("fresh.jsonl");
        AssertRefused(Run("data", "kvr", "--n", "5", "--out", fresh, "--n-b", "5", "--out-b", facts), facts);
        Assert.False(File.Exists(fresh));
        Assert.Equal(before, File.ReadAllText(facts));

        Assert.Equal(0, Run("data", "kvr", "--n", "5", "--out", facts, "--force").Code);
        Assert.Equal(5, File.ReadAllLines(facts).Length);
    }

    [Fact]
    public void ModelInit_IntoAFolderWithFiles_IsRefused_AndForceReplacesTheWholeFolder()
    {
        using var dir = new TempDir();
        var model = dir.File("m");
        Directory.CreateDirectory(model);
        Assert.Equal(0, Run("model", "init", "--out", model, "--hidden-size", "32").Code); // an empty folder is free
        File.WriteAllText(Path.Combine(model, "notes.txt"), "mine");
        var weights = File.ReadAllBytes(Path.Combine(model, "model.safetensors"));

        AssertRefused(Run("model", "init", "--out", model, "--hidden-size", "32", "--seed", "1"), model);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(model, "model.safetensors")));

        Assert.Equal(0, Run("model", "init", "--out", model, "--hidden-size", "32", "--seed", "1", "--force").Code);
        Assert.NotEqual(weights, File.ReadAllBytes(Path.Combine(model, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(model, "notes.txt"))); // replaced, not written over
    }

    [Fact]
    public void Eval_ByDefaultWritesBesideTheModelAndReplacesItsOwnFile_ButAnExplicitOutIsRefused()
    {
        using var dir = new TempDir();
        var model = dir.File("m");
        Assert.Equal(0, Run("model", "init", "--out", model, "--hidden-size", "32").Code);
        var data = dir.File("facts.jsonl");
        ExampleJsonl.Write(data, KvrGenerator.Generate(3, 1));
        var expected = Path.Combine(model, "eval", "facts.predictions.jsonl");
        Assert.Equal(expected, TrainCommands.DefaultPredictionsPath(model, data));

        var first = Run("eval", "--model", model, "--data", data);
        Assert.True(first.Code == 0, first.Err);
        Assert.Contains($"predictions: {expected}{Environment.NewLine}", first.Out);
        Assert.Equal(3, File.ReadAllLines(expected).Length);
        var again = Run("eval", "--model", model, "--data", data);
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains($"predictions: {expected} (replacing the earlier file)", again.Out);

        var mine = dir.File("mine.jsonl");
        File.WriteAllText(mine, "keep\n");
        AssertRefused(Run("eval", "--model", model, "--data", data, "--out", mine), mine);
        Assert.Equal("keep\n", File.ReadAllText(mine));
        Assert.Equal(0, Run("eval", "--model", model, "--data", data, "--out", mine, "--force").Code);
        Assert.Equal(3, File.ReadAllLines(mine).Length);
    }

    [Theory]
    [InlineData("analyze", "logit-lens")]
    [InlineData("data", "filter-known")]
    public void FolderOutputs_WithFilesInThem_AreRefusedBeforeAnyWork(string group, string command)
    {
        using var dir = new TempDir();
        var output = dir.File("out");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "summary.md"), "mine");
        // The model and data do not exist: the refusal comes before reading them.
        var r = Run(group, command, "--model", dir.File("no-model"), "--data", dir.File("no-data.jsonl"), "--out", output);
        AssertRefused(r, output);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(output, "summary.md")));
    }

    [Fact]
    public void AnOutputThatHoldsTheCommandsInput_IsRefusedEvenWithForce()
    {
        using var dir = new TempDir();
        var work = dir.File("work");
        Directory.CreateDirectory(work);
        var facts = Path.Combine(work, "facts.jsonl");
        Assert.Equal(0, Run("data", "kvr", "--n", "4", "--out", facts).Code);
        var r = Run("data", "filter-known", "--model", dir.File("no-model"), "--data", facts, "--out", work, "--force");
        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {work}: holds the input {facts}, which writing there would destroy; choose another output{Environment.NewLine}", r.Err);
        Assert.Equal(4, File.ReadAllLines(facts).Length);
        // A file output that is the input: predictions written over the data.
        var e = Run("eval", "--model", dir.File("no-model"), "--data", facts, "--out", facts, "--force");
        Assert.Equal(1, e.Code);
        Assert.Contains($"holds the input {facts}", e.Err);
        Assert.Equal(4, File.ReadAllLines(facts).Length);
    }

    [Fact]
    public void TokenizerTrain_IntoAFolderWithFiles_IsRefused()
    {
        using var dir = new TempDir();
        var output = dir.File("tok");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "tokenizer.json"), "mine");
        AssertRefused(Run("tokenizer", "train", "--corpus", dir.File("no-corpus.jsonl"), "--out", output), output);
    }

    [Fact]
    public void Force_DoesNotReplaceTheWorkingDirectoryOrAFolderAboveIt()
    {
        var force = new ForceOption("--out folder");
        var command = new Command("x");
        force.AddTo(command);
        var parse = command.Parse(["--force"]);
        var cwd = Directory.GetCurrentDirectory();
        foreach (var path in new[] { cwd, Path.GetDirectoryName(cwd)!, "." })
            Assert.Contains("holds the working directory", Assert.Throws<InvalidInputException>(() => force.Check(parse, path)).Message);
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a"), "");
        force.Check(parse, dir.Path); // forced: a folder elsewhere is free to replace
    }
}
