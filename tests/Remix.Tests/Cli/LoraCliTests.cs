using Remix.Checkpoints;
using Remix.Data;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Training;
using static TorchSharp.torch;

namespace Remix.Tests.Cli;

/// <summary>The commands that load a model score a <c>remix train --lora</c> output as the merged model, and say so on stderr.</summary>
public class LoraCliTests(LoraFolders folders) : IClassFixture<LoraFolders>
{
    static (int Code, string Out, string Err) Run(params string[] args) => Support.Cli.Run(args);

    string Note(string folder, string? consequence = null) =>
        $"remix: applied LoRA adapter from {folder} (rank 4, alpha 8, q_proj+v_proj on 4 projections){(consequence is null ? "" : "; " + consequence)}; --no-adapter loads the base alone{Environment.NewLine}";

    /// <summary>The score lines of <c>remix eval</c>, without the line naming the predictions file.</summary>
    (string Scores, string Err) Eval(string model, params string[] more)
    {
        var r = Run(["eval", "--model", model, "--data", folders.Facts, "--out", folders.File($"{Guid.NewGuid():N}.jsonl"), .. more]);
        Assert.True(r.Code == 0, r.Err);
        return (string.Join('\n', r.Out.Split('\n').Where(l => !l.StartsWith("predictions:"))), r.Err);
    }

    [Fact]
    public void Eval_OnALoraTrainingOutput_ScoresAsTheMergedModel_AndNoAdapterAsTheBase()
    {
        var adapted = Eval(folders.Adapted);
        var merged = Eval(folders.Merged);
        Assert.Contains("gold_logprob: ", adapted.Scores);
        Assert.Equal(merged.Scores, adapted.Scores);
        Assert.Equal(Note(folders.Adapted), adapted.Err);
        Assert.Equal("", merged.Err);

        var alone = Eval(folders.Adapted, "--no-adapter");
        Assert.Equal(Eval(folders.Base).Scores, alone.Scores);
        Assert.Equal("", alone.Err);
        string GoldLogProb(string scores) => scores.Split('\n').Single(l => l.StartsWith("gold_logprob: "));
        Assert.NotEqual(GoldLogProb(alone.Scores), GoldLogProb(adapted.Scores)); // training moved the adapter off the base
    }

    [Fact]
    public void Generate_OnALoraTrainingOutput_PrintsTheMergedModelsContinuation_AndTheNoteOnStderr()
    {
        var adapted = Run("generate", "--model", folders.Adapted, "--prompt", "k1", "--max-new-tokens", "8", "--ids");
        var merged = Run("generate", "--model", folders.Merged, "--prompt", "k1", "--max-new-tokens", "8", "--ids");
        Assert.Equal(0, adapted.Code);
        Assert.Equal(merged.Out, adapted.Out);
        Assert.Equal(Note(folders.Adapted), adapted.Err);

        var info = Run("model", "info", folders.Adapted);
        Assert.Contains("LoRA adapter:       rank 4, alpha 8 on q_proj+v_proj, merged into the weights when loaded", info.Out);
    }

    [Fact]
    public void LoraMerge_OnAFinishedRunResumed_KeepsTheTrainedModel()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Run("model", "init", "--out", dir.File("base"), "--hidden-size", "32").Code);
        ExampleJsonl.Write(dir.File("facts.jsonl"), KvrGenerator.Generate(4, 1));
        string[] Train(string outDir, params string[] more) => ["train", "--model", dir.File("base"), "--data", dir.File("facts.jsonl"), "--out", outDir,
            "--epochs", "3", "--batch-size", "2", "--lr", "1e-2", "--lora", "4", .. more];
        string[] train = Train(dir.File("run"), "--lora-merge");
        Assert.Equal(0, Run(train).Code);
        var final = Path.Combine(dir.File("run"), "final", "model.safetensors");
        var merged = File.ReadAllBytes(final);
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(dir.File("base"), "model.safetensors")), merged);
        // A requeued job runs the same command again: the finished run is left as it is, not merged from the base.
        var again = Run([.. train, "--resume"]);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(merged, File.ReadAllBytes(final));

        // Stopped after it was marked finished and before the merge: the adapter still beside the base weights is merged from disk.
        var unmerged = dir.File("unmerged");
        Assert.Equal(0, Run(Train(unmerged)).Code);
        Assert.True(PeftAdapter.Holds(Path.Combine(unmerged, "final")));
        var late = Run(Train(unmerged, "--lora-merge", "--resume"));
        Assert.True(late.Code == 0, late.Err);
        Assert.False(PeftAdapter.Holds(Path.Combine(unmerged, "final")));
        var lateWeights = HfCheckpoint.Load(Path.Combine(unmerged, "final"));
        using var mergedWeights = HfCheckpoint.Load(Path.Combine(dir.File("run"), "final"));
        using (lateWeights)
            foreach (var ((name, a), (_, b)) in lateWeights.named_parameters().Zip(mergedWeights.named_parameters()))
                Assert.True(a.allclose(b, rtol: 0, atol: 1e-6), name); // one merge in memory, the other from disk in float32
    }

    [Fact]
    public void Train_FromAFolderWithAnAdapter_StartsFromTheMergedModel()
    {
        var outDir = folders.File("again");
        var r = Run("train", "--model", folders.Adapted, "--data", folders.Facts, "--out", outDir, "--epochs", "1", "--lora", "2");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(Note(folders.Adapted, "training starts from the merged model"), r.Err);
        // LoRA leaves the weights it starts from as they are: the new output's base weights are the merged model.
        using var start = LoadedModel.Load(Path.Combine(outDir, "final"), applyAdapter: false);
        using var merged = LoadedModel.Load(folders.Merged);
        long[] ids = [256, 10, 20, 30];
        var a = TestModels.Logits(start.Model, ids);
        var b = TestModels.Logits(merged.Model, ids);
        Assert.True(a.Zip(b).All(p => Math.Abs(p.First - p.Second) < 1e-5f), "training did not start from the merged model");
        // ...and loading the new output applies only its own adapter.
        using var loaded = LoadedModel.Load(Path.Combine(outDir, "final"));
        Assert.Equal(2, loaded.Adapter!.Config.Rank);
    }

    [Theory]
    [InlineData("no r", "config", "field 'r': expected a positive integer, found nothing")]
    [InlineData("no lora_alpha", "config", "field 'lora_alpha': expected a positive number, found nothing")]
    [InlineData("use_dora", "config", "field 'use_dora': expected false")]
    [InlineData("rank_pattern", "config", "field 'rank_pattern': expected an empty object")]
    [InlineData("alpha_pattern", "config", "field 'alpha_pattern': expected an empty object")]
    [InlineData("fan_in_fan_out", "config", "field 'fan_in_fan_out': expected false")]
    [InlineData("bias", "config", "field 'bias': expected \"none\"")]
    [InlineData("modules_to_save", "config", "field 'modules_to_save': expected an empty list")]
    [InlineData("layers_to_transform", "config", "field 'layers_to_transform': expected null")]
    [InlineData("peft_type", "config", "field 'peft_type': expected \"LORA\"")]
    [InlineData("target that matches nothing", "config", "field 'target_modules': expected names of projections in the model, found \"c_attn\"")]
    [InlineData("pattern that matches nothing", "config", "field 'target_modules': expected names of projections in the model, found \"q_proj\"")]
    [InlineData("all-linear", "weights", "the adapter lacks tensor 'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight'")]
    [InlineData("target without tensors", "weights", "the adapter lacks tensor 'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight'")]
    [InlineData("no lora_B", "weights", "the adapter lacks tensor 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight'")]
    [InlineData("other rank", "weights", "tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': expected shape [2, 32]")]
    [InlineData("module not in the model", "weights", "tensor 'base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight': expected a projection of the model, found 'model.layers.7.self_attn.q_proj'")]
    [InlineData("untargeted projection", "weights", "tensor 'base_model.model.model.layers.0.mlp.up_proj.lora_A.weight': expected tensors only for the projections that adapter_config.json's target_modules (q_proj+v_proj) names")]
    [InlineData("DoRA magnitude", "weights", "unexpected tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector'")]
    [InlineData("no config", "config", "file not found")]
    public void AdapterThatDoesNotFit_IsRefusedInOneLineNamingTheFile(string fault, string file, string message)
    {
        var folder = folders.CopyOfAdapted("bad-" + fault.Replace(' ', '-'));
        List<(string Name, Tensor Tensor)> With(List<(string Name, Tensor Tensor)> ts, string name, long[] shape) => [.. ts, (name, zeros(shape))];
        switch (fault)
        {
            case "no r": LoraFolders.EditConfig(folder, c => c.Remove("r")); break;
            case "no lora_alpha": LoraFolders.EditConfig(folder, c => c.Remove("lora_alpha")); break;
            case "use_dora" or "fan_in_fan_out": LoraFolders.EditConfig(folder, c => c[fault] = true); break;
            case "rank_pattern" or "alpha_pattern": LoraFolders.EditConfig(folder, c => c[fault] = new System.Text.Json.Nodes.JsonObject { ["q_proj"] = 2 }); break;
            case "bias": LoraFolders.EditConfig(folder, c => c["bias"] = "all"); break;
            case "modules_to_save": LoraFolders.EditConfig(folder, c => c["modules_to_save"] = new System.Text.Json.Nodes.JsonArray("lm_head")); break;
            case "layers_to_transform": LoraFolders.EditConfig(folder, c => c["layers_to_transform"] = new System.Text.Json.Nodes.JsonArray(0)); break;
            case "peft_type": LoraFolders.EditConfig(folder, c => c["peft_type"] = "IA3"); break;
            case "target that matches nothing": LoraFolders.EditConfig(folder, c => c["target_modules"] = new System.Text.Json.Nodes.JsonArray("q_proj", "c_attn", "v_proj")); break;
            case "pattern that matches nothing": LoraFolders.EditConfig(folder, c => c["target_modules"] = "q_proj"); break; // a full match of the whole name, as PEFT's re.fullmatch
            case "all-linear": LoraFolders.EditConfig(folder, c => c["target_modules"] = "all-linear"); break; // every projection, so k_proj too
            case "target without tensors": LoraFolders.EditConfig(folder, c => c["target_modules"] = new System.Text.Json.Nodes.JsonArray("q_proj", "k_proj", "v_proj")); break;
            case "no lora_B": LoraFolders.EditTensors(folder, ts => [.. ts.Where(t => t.Name != "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight")]); break;
            case "other rank": LoraFolders.EditConfig(folder, c => c["r"] = 2); break;
            case "module not in the model": LoraFolders.EditTensors(folder, ts => With(ts, "base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight", [4, 32])); break;
            case "untargeted projection": LoraFolders.EditTensors(folder, ts => With(ts, "base_model.model.model.layers.0.mlp.up_proj.lora_A.weight", [4, 32])); break;
            case "DoRA magnitude": LoraFolders.EditTensors(folder, ts => With(ts, "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", [32])); break;
            case "no config": File.Delete(Path.Combine(folder, PeftAdapter.ConfigFile)); break;
            default: throw new ArgumentException(fault);
        }
        var path = Path.Combine(folder, file == "config" ? PeftAdapter.ConfigFile : PeftAdapter.WeightsFile);
        foreach (var command in new[] { new[] { "generate", "--model", folder, "--prompt", "k1", "--max-new-tokens", "1" }, ["eval", "--model", folder, "--data", folders.Facts, "--out", folders.File("bad.jsonl")] })
        {
            var r = Run(command);
            Assert.Equal(1, r.Code);
            Assert.Equal("", r.Out);
            Assert.StartsWith($"remix: {path}: {message}", r.Err);
            Assert.Single(r.Err.TrimEnd('\n', '\r').Split('\n'));
        }
        Assert.Equal(0, Run("generate", "--model", folder, "--prompt", "k1", "--max-new-tokens", "1", "--no-adapter").Code);
    }
}
