using Remix.Checkpoints;
using Remix.Data;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Tokenization;
using Remix.Training;
using static TorchSharp.torch;

namespace Remix.Tests.Training;

public class LoraTests
{
    static readonly long[] Ids = [256, 10, 20, 30, 40, 50];

    [Fact]
    public void Attach_StartsEqualToTheBase_AndNamesAdaptersAsPeftDoes()
    {
        using var model = TestModels.Create(TestModels.Config(layers: 2), seed: 3);
        var before = TestModels.Logits(model, Ids);
        Assert.Equal(4, Lora.Attach(model, rank: 4, alpha: 8)); // q_proj and v_proj of 2 layers
        Assert.Equal(before, TestModels.Logits(model, Ids));
        Assert.Equal(
            ["model.layers.0.self_attn.q_proj.lora_A.weight", "model.layers.0.self_attn.q_proj.lora_B.weight",
             "model.layers.0.self_attn.v_proj.lora_A.weight", "model.layers.0.self_attn.v_proj.lora_B.weight"],
            Lora.TrainableParameters(model).Take(4).Select(p => p.Name));
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void Training_UpdatesOnlyTheAdapters_AndMergingKeepsTheFunction()
    {
        using var dir = new TempDir();
        using (var init = TestModels.Create(TestModels.Config(), seed: 1))
        {
            HfCheckpoint.Save(init, dir.File("base"));
            ByteLevelTokenizerFiles.Write(dir.File("base"));
        }
        using var loaded = LoadedModel.Load(dir.File("base"));
        var baseWeights = loaded.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        Lora.Attach(loaded.Model, rank: 4, alpha: 16, targets: ["q_proj", "k_proj", "v_proj", "o_proj"], seed: 2);
        var options = new TrainingOptions { LearningRate = 1e-2, BatchSize = 4, Epochs = 5, WarmupRatio = 0, Seed = 1 };
        var result = new Trainer(loaded.Model, loaded.Tokenizer, loaded.StopTokenIds, options)
            .Train(new TrainingRun { Examples = KvrGenerator.Generate(8, 4), OutDir = dir.File("run"), TokenizerSource = dir.File("base") });

        foreach (var (name, p) in loaded.Model.named_parameters())
            Assert.True(p.equal(baseWeights[name]).all().item<bool>(), $"{name} changed under LoRA");
        Assert.True(Lora.TrainableParameters(loaded.Model).Any(p => p.Name.EndsWith("lora_B.weight") && p.Parameter.abs().sum().item<float>() > 0));
        Assert.True(File.Exists(Path.Combine(result.FinalModelDirectory!, PeftAdapter.WeightsFile)));

        var adapted = TestModels.Logits(loaded.Model, Ids);
        Assert.NotEqual(adapted, TestModels.Logits(HfCheckpoint.Load(dir.File("base")), Ids));

        // The saved adapter on a fresh base model gives the same function...
        using var reloaded = HfCheckpoint.Load(dir.File("base"));
        PeftAdapter.Load(reloaded, result.FinalModelDirectory!);
        Assert.Equal(adapted, TestModels.Logits(reloaded, Ids));
        Assert.True(Lora.HasAdapters(reloaded), "a resumed training needs its adapters trainable, not merged");

        // Adapters already attached with another alpha (a resume with other --lora settings) are refused, not silently rescaled.
        using var other = HfCheckpoint.Load(dir.File("base"));
        Lora.Attach(other, rank: 4, alpha: 32, targets: ["q_proj", "k_proj", "v_proj", "o_proj"], seed: 2);
        var mismatch = Assert.Throws<InvalidInputException>(() => PeftAdapter.Load(other, result.FinalModelDirectory!));
        Assert.Contains("written for adapters of rank 4 and alpha 16, but the model has rank 4 and alpha 32", mismatch.Message);

        // ...and so does merging it into the weights.
        Lora.Merge(loaded.Model);
        Assert.False(Lora.HasAdapters(loaded.Model));
        var merged = TestModels.Logits(loaded.Model, Ids);
        Assert.True(adapted.Zip(merged).All(p => Math.Abs(p.First - p.Second) < 1e-4), "merged logits differ from the adapter's");
    }

    [Theory]
    [InlineData("[\"q_proj\", 3]")]
    [InlineData("[]")]
    [InlineData("\"(q_proj\"")]
    public void AdapterConfig_WithTargetsThatAreNotAListOfNames_IsRefusedInOneLine(string targets)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(PeftAdapter.ConfigFile), $"{{\"r\": 4, \"lora_alpha\": 8, \"target_modules\": {targets}}}");
        using var model = TestModels.Create(TestModels.Config(), seed: 3);
        var e = Assert.Throws<InvalidInputException>(() => PeftAdapter.Load(model, dir.Path));
        Assert.Contains(dir.File(PeftAdapter.ConfigFile), e.Message);
        Assert.Contains("'target_modules'", e.Message);
        Assert.Contains("a list of module names", e.Message);
        Assert.False(Lora.HasAdapters(model));
    }

    [Fact]
    public void UnknownTargets_AreRefused()
    {
        using var model = TestModels.Create(TestModels.Config(), seed: 3);
        var e = Assert.Throws<InvalidInputException>(() => Lora.Attach(model, 4, 8, ["c_attn"]));
        Assert.Equal("--lora-targets: no projection named c_attn in the model (it has down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj)", e.Message);
        // One name that meets nothing is refused beside one that does: q_proj alone would train without a word.
        Assert.Contains("no projection named v_prj", Assert.Throws<InvalidInputException>(() => Lora.Attach(model, 4, 8, ["q_proj", "v_prj"])).Message);
    }
}
