using Remix.Experiments;
using Remix.IO;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

public class StageKeyTests
{
    /// <summary>A base model folder of stand-in files (the key reads their bytes, not a model) and a.jsonl, b.jsonl.</summary>
    static void Files(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "base"));
        File.WriteAllText(Path.Combine(root, "base", "config.json"), "{}");
        File.WriteAllText(Path.Combine(root, "base", "model.safetensors"), "weights");
        File.WriteAllText(Path.Combine(root, "base", "README.md"), "not read when loading");
        File.WriteAllText(Path.Combine(root, "a.jsonl"), "facts of A");
        File.WriteAllText(Path.Combine(root, "b.jsonl"), "facts of B");
    }

    static ExperimentSpec Spec(string root, string stageA, string stageB = "{name: B, data: b.jsonl}", string extra = "") =>
        ExperimentSpec.Load(ExperimentRunnerTests.Write(Path.Combine(root, "spec.yaml"),
            $"name: key\nbase_model: base\n{extra}recipe: {{lr: 0.01, epochs: 2}}\nstages:\n  - {stageA}\n  - {stageB}\n"));

    static StageKey Key(ExperimentSpec spec, int index = 0, int threads = 2) => StageKey.ForStage(spec, index, 0, new FileHashCache(null), threads);

    [Fact]
    public void TheKey_LeavesOutCheckpointing_NamesAChangedField_AndIsNotChangedByALaterStage()
    {
        using var dir = new TempDir();
        Files(dir.Path);
        var plain = Key(Spec(dir.Path, "{name: A, data: a.jsonl}"));
        Assert.Equal(plain.Hash, Key(Spec(dir.Path, "{name: A, data: a.jsonl, recipe: {save_every: 3, keep_checkpoints: true}}")).Hash);
        Assert.Equal(plain.Hash, Key(Spec(dir.Path, "{name: A, data: a.jsonl}", "{name: B, data: b.jsonl, recipe: {lr: 0.5}}")).Hash);

        var slower = Key(Spec(dir.Path, "{name: A, data: a.jsonl, recipe: {lr: 0.002}}"));
        Assert.NotEqual(plain.Hash, slower.Hash);
        Assert.Equal("recipe.lr 0.01 -> 0.002", slower.Difference(plain, StageKey.Prefix(0)));
        var lora = Key(Spec(dir.Path, "{name: A, data: a.jsonl, lora: {rank: 2}, limit: 3}"));
        Assert.Equal("limit none -> 3; lora added (rank 2, alpha 4, targets[0] q_proj, targets[1] v_proj)", lora.Difference(plain, StageKey.Prefix(0)));
        Assert.Equal("limit 3 -> none; lora removed", plain.Difference(lora, StageKey.Prefix(0)));
        // Stage B's key holds stage A's parts, named as the spec's fields.
        Assert.Equal("stages[0].recipe.lr 0.01 -> 0.002", Key(Spec(dir.Path, "{name: A, data: a.jsonl, recipe: {lr: 0.002}}"), 1).Difference(Key(Spec(dir.Path, "{name: A, data: a.jsonl}"), 1), StageKey.Prefix(1)));
    }

    [Fact]
    public void ThePrecision_IsInTheKey_WhenTheRecipeNamesIt_AndAbsentLeavesTheKeyAsItWas()
    {
        using var dir = new TempDir();
        Files(dir.Path);
        var plain = Key(Spec(dir.Path, "{name: A, data: a.jsonl}"));
        Assert.DoesNotContain(plain.Parts, p => p.Key.Contains("precision"));
        var pure = Key(Spec(dir.Path, "{name: A, data: a.jsonl, recipe: {precision: bf16-pure}}"));
        Assert.Equal("recipe.precision none -> bf16-pure", pure.Difference(plain, StageKey.Prefix(0)));
        Assert.Equal("recipe.precision bf16-master -> bf16-pure",
            pure.Difference(Key(Spec(dir.Path, "{name: A, data: a.jsonl, recipe: {precision: bf16-master}}")), StageKey.Prefix(0)));
    }

    [Fact]
    public void TheKey_IsOfContent_NotOfTheFolder_AndOfTheThreadsOnlyOnCpu()
    {
        using var dir = new TempDir();
        var (here, there) = (Path.Combine(dir.Path, "here"), Path.Combine(dir.Path, "there"));
        Files(here);
        Files(there);
        const string stageA = "{name: A, data: a.jsonl}";
        var key = Key(Spec(here, stageA));
        Assert.Equal(key.Hash, Key(Spec(there, stageA)).Hash);
        Assert.DoesNotContain(key.Parts, p => p.Key.Contains("README"));

        File.WriteAllText(Path.Combine(there, "a.jsonl"), "other facts");
        File.WriteAllText(Path.Combine(there, "base", "model.safetensors"), "other weights");
        Assert.Equal("base_model/model.safetensors: content changed; data[0] a.jsonl: content changed", Key(Spec(there, stageA)).Difference(key, StageKey.Prefix(0)));

        Assert.Equal("threads 2 -> 1", Key(Spec(here, stageA), threads: 1).Difference(key));
        var gpu = Spec(here, stageA, extra: "device: cuda\n");
        Assert.Equal(Key(gpu, threads: 1).Hash, Key(gpu, threads: 2).Hash);
    }

    [Fact]
    public void ALamaFilesTemplatesFoundBesideIt_AreInTheKey()
    {
        using var dir = new TempDir();
        Files(dir.Path);
        // LAMA data with its relations.jsonl beside it, found by the reader without being named in the spec.
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "datasets", "lama-custom");
        Directory.CreateDirectory(dir.File("lama"));
        foreach (var file in Directory.GetFiles(Path.Combine(fixture, "TREx"))) File.Copy(file, Path.Combine(dir.File("lama"), Path.GetFileName(file)));
        File.Copy(Path.Combine(fixture, "relations.jsonl"), dir.File("lama/relations.jsonl"));
        var data = Path.GetFileName(Directory.GetFiles(dir.File("lama"), "P*.jsonl")[0]);
        var before = Key(Spec(dir.Path, $"{{name: A, data: lama/{data}}}"));
        File.AppendAllText(dir.File("lama/relations.jsonl"), "\n");
        var after = Key(Spec(dir.Path, $"{{name: A, data: lama/{data}}}"));
        Assert.NotEqual(before.Hash, after.Hash);
        Assert.Contains("templates", after.Difference(before, StageKey.Prefix(0)));
    }

    [Fact]
    public void AKey_SavedAndReadBack_IsTheSame()
    {
        using var dir = new TempDir();
        Files(dir.Path);
        var key = Key(Spec(dir.Path, "{name: A, data: a.jsonl, mix: [{source: random, ratio: 2.0}]}"), 1);
        key.Save(dir.File(StageKey.FileName));
        var read = StageKey.Read(dir.File(StageKey.FileName))!;
        Assert.Equal(key.Hash, read.Hash);
        Assert.Equal(key.Parts, read.Parts);
        Assert.Equal(key.Hash, StageKey.Of(read.Parts).Hash);
        Assert.Null(StageKey.Read(dir.File("absent.json")));
        File.WriteAllText(dir.File("bad.json"), "{\"hash\": 1}");
        Assert.Throws<InvalidInputException>(() => StageKey.Read(dir.File("bad.json")));
    }
}
