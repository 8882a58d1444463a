using System.Text.Json.Nodes;
using Remix.Data;
using Remix.Experiments;
using Remix.IO;
using Remix.Models;
using Remix.Runtime;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

/// <summary><c>--kernels</c> and the spec's <c>kernels:</c>: accepted, refused, recorded, and keyed.</summary>
public class KernelsOptionTests
{
    static string Spec(TempDir dir, string extra = "") => ExperimentRunnerTests.Write(dir.File("spec.yaml"),
        $"name: kernels\nbase_model: base\n{extra}recipe: {{lr: 0.01, epochs: 1, batch_size: 4, warmup_ratio: 0}}\nstages:\n  - {{name: A, data: a.jsonl}}\n");

    [Fact]
    public void Run_WithKernelsReference_WritesItIntoTheSnapshotAndEverySession()
    {
        using var dir = new TempDir();
        ExperimentRunnerTests.BaseModelAndTwoSets(dir);
        var run = Support.Cli.Run("run", "--config", Spec(dir), "--out", dir.File("runs"), "--kernels", "reference");
        Assert.True(run.Code == 0, run.Err);
        var runDir = Path.Combine(dir.File("runs"), "seed-0");
        Assert.Equal("reference", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, RunLayout.ConfigSnapshot)))!["kernels"]!);
        Assert.Equal("reference", (string)Assert.Single(RunProvenance.ReadSessions(runDir))["kernels"]!);
        // The stage's own training (the Trainer) records the path of the model it trained.
        Assert.Equal("reference", (string)Assert.Single(RunProvenance.ReadSessions(RunLayout.StageDirectory(runDir, 1, "A")))["kernels"]!);
    }

    [Fact]
    public void Train_RecordsTheKernelPath_AndABadValueIsRefusedInOneLine()
    {
        using var dir = new TempDir();
        ExperimentRunnerTests.BaseModelAndTwoSets(dir);
        string[] args = ["train", "--model", dir.File("base"), "--data", dir.File("a.jsonl"), "--epochs", "1", "--batch-size", "4"];
        var reference = Support.Cli.Run([.. args, "--out", dir.File("reference"), "--kernels", "reference"]);
        Assert.True(reference.Code == 0, reference.Err);
        Assert.Equal("reference", (string)Assert.Single(RunProvenance.ReadSessions(dir.File("reference")))["kernels"]!);
        var auto = Support.Cli.Run([.. args, "--out", dir.File("auto")]);
        Assert.True(auto.Code == 0, auto.Err);
        Assert.Equal(KernelChoices.Describe(KernelChoice.Auto), (string)Assert.Single(RunProvenance.ReadSessions(dir.File("auto")))["kernels"]!);

        var bad = Support.Cli.Run([.. args, "--out", dir.File("bad"), "--kernels", "fast"]);
        Assert.NotEqual(0, bad.Code);
        Assert.Equal("remix: --kernels: expected auto or reference, found \"fast\"", bad.Err.TrimEnd());
        Assert.False(Directory.Exists(dir.File("bad")));
    }

    [Fact]
    public void SpecKernels_IsRead_ABadValueNamesTheKey_AndReferenceTrainsApartFromAutoOnCpuOnly()
    {
        using var dir = new TempDir();
        ExperimentRunnerTests.BaseModelAndTwoSets(dir);
        var auto = ExperimentSpec.Load(Spec(dir));
        var reference = ExperimentSpec.Load(Spec(dir, "kernels: reference\n"));
        Assert.Equal(KernelChoice.Auto, auto.Kernels);
        Assert.Equal(KernelChoice.Reference, reference.Kernels);
        var e = Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(Spec(dir, "kernels: fast\n")));
        Assert.Contains("kernels", e.Message);
        Assert.Contains("expected auto or reference, found", e.Message);

        static StageKey Key(ExperimentSpec spec) => StageKey.ForStage(spec, 0, 0, new FileHashCache(null), 2);
        // Written out, auto is the key every stage had before the choice existed.
        Assert.Equal(Key(auto).Hash, Key(ExperimentSpec.Load(Spec(dir, "kernels: auto\n"))).Hash);
        Assert.DoesNotContain(Key(auto).Parts, p => p.Key == "kernels");
        Assert.NotEqual(Key(auto).Hash, Key(reference).Hash);
        Assert.Equal(Key(auto).Hash, Key(auto.WithKernels(KernelChoice.Auto)).Hash);
        Assert.Equal(Key(reference).Hash, Key(auto.WithKernels(KernelChoice.Reference)).Hash);
        // The kernels never run on a GPU: there the two compute the same and share their stages.
        Assert.Equal(Key(auto with { Device = "cuda" }).Hash, Key(reference with { Device = "cuda" }).Hash);
    }
}
