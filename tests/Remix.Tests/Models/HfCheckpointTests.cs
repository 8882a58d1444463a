using Remix.Checkpoints.SafeTensors;
using Remix.Checkpoints;
using Remix.Models;
using Remix.Runtime;
using Remix.Tests.Support;
using static TorchSharp.torch;

namespace Remix.Tests.Models;

public class HfCheckpointTests
{
    static readonly long[] Ids = [256, 10, 20, 30, 40, 50];

    [Theory]
    [InlineData("llama", true, ScalarType.Float32, long.MaxValue)]
    [InlineData("qwen2", false, ScalarType.Float32, 20_000)]
    [InlineData("mistral", false, ScalarType.BFloat16, long.MaxValue)]
    public void SaveThenLoad_GivesIdenticalLogits(string type, bool tied, ScalarType dtype, long shardBytes)
    {
        using var dir = new TempDir();
        using var model = TestModels.Create(TestModels.Config(type, tied, slidingWindow: type == "mistral" ? 4 : null), seed: 5, dtype: dtype);
        HfCheckpoint.Save(model, dir.Path, maxShardBytes: shardBytes);
        using var loaded = HfCheckpoint.Load(dir.Path, CPU, dtype);
        Assert.Equal(TestModels.Logits(model, Ids), TestModels.Logits(loaded, Ids));
        Assert.Equal(model.Config.ToJson().Replace("float32", "x").Replace("bfloat16", "x"), loaded.Config.ToJson().Replace("float32", "x").Replace("bfloat16", "x"));
        Assert.Equal(DTypes.HfName(dtype), loaded.Config.TorchDtype);
        Assert.Equal(shardBytes != long.MaxValue, File.Exists(Path.Combine(dir.Path, "model.safetensors.index.json")));
    }

    [Fact]
    public void TiedCheckpoint_StoresNoLmHead_AndLoadsOneThatCarriesIt()
    {
        using var dir = new TempDir();
        using var model = TestModels.Create(TestModels.Config(tied: true));
        HfCheckpoint.Save(model, dir.Path);
        using (var weights = CheckpointWeights.Open(dir.Path)) Assert.False(weights.Contains("lm_head.weight"));

        // Some exporters write the tied head anyway; it is ignored, as transformers does.
        var tensors = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        tensors.Add(("lm_head.weight", model.LmHeadWeight));
        tensors.Add(("model.layers.0.self_attn.rotary_emb.inv_freq", ones(4)));
        SafeTensorsWriter.WriteCheckpoint(dir.Path, tensors);
        using var loaded = HfCheckpoint.Load(dir.Path);
        Assert.Equal(TestModels.Logits(model, Ids), TestModels.Logits(loaded, Ids));
    }

    [Fact]
    public void Bf16Checkpoint_LoadsIntoFloat32()
    {
        using var dir = new TempDir();
        using var model = TestModels.Create(TestModels.Config(), dtype: ScalarType.BFloat16);
        HfCheckpoint.Save(model, dir.Path);
        using var loaded = HfCheckpoint.Load(dir.Path, CPU, ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, loaded.parameters().First().dtype);
        using var a = model.Model.EmbedTokens.Weight.to(ScalarType.Float32);
        Assert.True(a.equal(loaded.Model.EmbedTokens.Weight).all().item<bool>());
    }

    [Fact]
    public void MissingTensor_IsRefusedWithItsName()
    {
        using var dir = new TempDir();
        using var model = TestModels.Create(TestModels.Config());
        HfCheckpoint.Save(model, dir.Path);
        var kept = model.named_parameters().Where(p => p.name != "model.norm.weight").Select(p => (p.name, (Tensor)p.parameter)).ToList();
        SafeTensorsWriter.WriteCheckpoint(dir.Path, kept);
        var e = Assert.Throws<InvalidInputException>(() => HfCheckpoint.Load(dir.Path));
        Assert.Equal($"{dir.Path}: the weights lack tensor 'model.norm.weight', which config.json implies", e.Message);
    }

    [Fact]
    public void WrongShape_IsRefusedWithExpectedAndFound()
    {
        using var dir = new TempDir();
        using var model = TestModels.Create(TestModels.Config());
        HfCheckpoint.Save(model, dir.Path);
        var tensors = model.named_parameters().Select(p => (p.name, p.name == "model.norm.weight" ? ones(7) : (Tensor)p.parameter)).ToList();
        SafeTensorsWriter.WriteCheckpoint(dir.Path, tensors);
        var e = Assert.Throws<InvalidInputException>(() => HfCheckpoint.Load(dir.Path));
        Assert.EndsWith("model.safetensors: tensor 'model.norm.weight': expected shape [32] from config.json, found [7]", e.Message);
    }

    [Fact]
    public void UnexpectedTensor_IsRefused()
    {
        using var dir = new TempDir();
        using var model = TestModels.Create(TestModels.Config());
        var tensors = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        tensors.Add(("model.layers.0.self_attn.q_proj.bias", zeros(32)));
        HfCheckpoint.Save(model, dir.Path);
        SafeTensorsWriter.WriteCheckpoint(dir.Path, tensors);
        var e = Assert.Throws<InvalidInputException>(() => HfCheckpoint.Load(dir.Path));
        Assert.Contains("unexpected tensor 'model.layers.0.self_attn.q_proj.bias': config.json implies no such parameter", e.Message);
    }

    [Fact]
    public void Save_CopiesTokenizerAndGenerationFiles()
    {
        using var source = new TempDir();
        using var target = new TempDir();
        RandomCheckpoint.Write(source.Path, RandomCheckpoint.TinyConfig(), seed: 1);
        File.WriteAllText(Path.Combine(source.Path, "generation_config.json"), "{\"eos_token_id\": [257, 10]}");
        using var model = HfCheckpoint.Load(source.Path);
        HfCheckpoint.Save(model, target.Path, companionSource: source.Path);
        Assert.Equal(["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"],
            Directory.GetFiles(target.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal([257, 10], HfCheckpoint.StopTokenIds(target.Path, model.Config, 257));
    }

    [Fact]
    public void StopTokens_FallBackFromGenerationConfigToConfigToTokenizer()
    {
        using var dir = new TempDir();
        var config = RandomCheckpoint.TinyConfig();
        Assert.Equal([257], HfCheckpoint.StopTokenIds(dir.Path, config, 1));
        Assert.Equal([1], HfCheckpoint.StopTokenIds(dir.Path, config with { EosTokenIds = [] }, 1));
    }

    [Fact]
    public void ModelSummary_ReadsCountsFromHeadersAlone()
    {
        using var dir = new TempDir();
        using var model = TestModels.Create(TestModels.Config("qwen2", tied: false), dtype: ScalarType.BFloat16);
        HfCheckpoint.Save(model, dir.Path, maxShardBytes: 10_000);
        var summary = ModelSummary.Read(dir.Path);
        Assert.Equal(model.ParameterCount(), summary.ParameterCount);
        Assert.Equal(["BF16"], summary.StoredDTypes.Keys);
        Assert.True(summary.WeightFiles.Count > 1);
    }
}
