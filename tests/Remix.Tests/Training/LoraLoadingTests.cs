using System.Text.Json.Nodes;
using Remix.Checkpoints.SafeTensors;
using Remix.Checkpoints;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Training;
using static TorchSharp.torch;

namespace Remix.Tests.Training;

/// <summary>Loading a folder with a PEFT LoRA adapter for use merges the adapter: the model is the one training produced.</summary>
public class LoraLoadingTests(LoraFolders folders) : IClassFixture<LoraFolders>
{
    static readonly long[] Ids = [256, 10, 20, 30, 40, 50];

    static float MaxDifference(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    static float[] Logits(string folder, bool applyAdapter = true)
    {
        using var loaded = LoadedModel.Load(folder, applyAdapter: applyAdapter);
        return TestModels.Logits(loaded.Model, Ids);
    }

    [Fact]
    public void Load_FolderWithAdapter_EqualsTheMergedFolder_AndDiffersFromTheBase()
    {
        using var loaded = LoadedModel.Load(folders.Adapted);
        var adapted = TestModels.Logits(loaded.Model, Ids);
        Assert.True(MaxDifference(adapted, Logits(folders.Merged)) < 1e-5f, "the unmerged folder scores otherwise than the merged one");
        Assert.True(MaxDifference(adapted, Logits(folders.Base)) > 1e-3f, "the adapter changed nothing: the test would pass without applying it");

        var adapter = loaded.Adapter!;
        Assert.Equal((4, 8.0, false, 4), (adapter.Config.Rank, adapter.Config.Alpha, adapter.Config.RankStabilized, adapter.Projections));
        Assert.Equal(["q_proj", "v_proj"], adapter.Config.TargetModules);
        Assert.Equal($"LoRA adapter from {folders.Adapted} (rank 4, alpha 8, q_proj+v_proj on 4 projections)", adapter.ToString());
        Assert.False(Lora.HasAdapters(loaded.Model)); // merged, not attached
        Assert.All(loaded.Model.parameters(), p => Assert.True(p.requires_grad));
        using var merged = LoadedModel.Load(folders.Merged);
        Assert.Null(merged.Adapter);
    }

    [Fact]
    public void Load_WithoutApplyingTheAdapter_IsTheBase()
    {
        using var loaded = LoadedModel.Load(folders.Adapted, applyAdapter: false);
        Assert.Null(loaded.Adapter);
        Assert.Equal(Logits(folders.Base), TestModels.Logits(loaded.Model, Ids));
    }

    [Fact]
    public void Load_RsLoraAdapter_ScalesByAlphaOverTheSquareRootOfTheRank()
    {
        var folder = folders.CopyOfAdapted("rslora");
        LoraFolders.EditConfig(folder, c => c["use_rslora"] = true);
        const string module = "model.layers.1.self_attn.v_proj";
        double[] Update(string dir, bool applyAdapter = true)
        {
            using var loaded = LoadedModel.Load(dir, applyAdapter: applyAdapter);
            using var w = loaded.Model.named_parameters().First(p => p.name == module + ".weight").parameter.detach().to(ScalarType.Float64);
            return w.data<double>().ToArray();
        }
        var baseWeight = Update(folders.Base);
        double[] BA;
        using (var file = SafeTensorsFile.Open(Path.Combine(folder, PeftAdapter.WeightsFile)))
        using (var a = file.Read($"base_model.model.{module}.lora_A.weight", ScalarType.Float64))
        using (var b = file.Read($"base_model.model.{module}.lora_B.weight", ScalarType.Float64))
        using (var ba = b.matmul(a))
            BA = ba.data<double>().ToArray();
        Assert.True(BA.Max(Math.Abs) > 1e-3, "B A is zero: the scale would not show");

        foreach (var (dir, scaling) in new[] { (folder, 8 / Math.Sqrt(4)), (folders.Adapted, 8.0 / 4) })
        {
            var merged = Update(dir);
            var worst = merged.Select((w, i) => Math.Abs(w - baseWeight[i] - scaling * BA[i])).Max();
            Assert.True(worst < 1e-6, $"{dir}: W' - W differs from {scaling} B A by {worst}");
        }
        using var rs = LoadedModel.Load(folder);
        Assert.Contains("alpha 8, rsLoRA,", rs.Adapter!.ToString());
    }

    [Fact]
    public void Load_DefaultAdapterNames_AndFullMatchRegexTargets_ApplyTheSameAdapter()
    {
        var expected = Logits(folders.Adapted);
        var named = folders.CopyOfAdapted("default-names");
        LoraFolders.EditTensors(named, ts => [.. ts.Select(t => (t.Name.Replace(".weight", ".default.weight"), t.Tensor))]);
        LoraFolders.EditConfig(named, c => c["target_modules"] = @"model\.layers\.\d+\.self_attn\.(q|v)_proj");
        Assert.Equal(expected, Logits(named));

        // A pattern for layer 0 alone, with the adapter's tensors for layer 0 alone.
        var layer0 = folders.CopyOfAdapted("layer-0");
        LoraFolders.EditTensors(layer0, ts => [.. ts.Where(t => t.Name.Contains(".layers.0."))]);
        LoraFolders.EditConfig(layer0, c => c["target_modules"] = @"model\.layers\.0\.self_attn\.(q|v)_proj");
        using var loaded = LoadedModel.Load(layer0);
        Assert.Equal(2, loaded.Adapter!.Projections);
        var partial = TestModels.Logits(loaded.Model, Ids);
        Assert.True(MaxDifference(partial, expected) > 1e-4f && MaxDifference(partial, Logits(folders.Base)) > 1e-4f);
    }

    [Fact]
    public void Load_InBfloat16_MergesTheAdapterToo()
    {
        static Tensor Weight(string dir, bool applyAdapter = true)
        {
            using var loaded = LoadedModel.Load(dir, CPU, ScalarType.BFloat16, applyAdapter);
            return loaded.Model.named_parameters().First(p => p.name == "model.layers.0.self_attn.q_proj.weight").parameter.detach().to(ScalarType.Float32);
        }
        using var adapted = Weight(folders.Adapted);
        using var merged = Weight(folders.Merged);
        using var baseWeight = Weight(folders.Adapted, applyAdapter: false);
        // bfloat16 keeps 8 bits of mantissa: merging before or after rounding W differs by about one unit in the last place.
        Assert.True(adapted.allclose(merged, rtol: 1e-2, atol: 1e-3), "bfloat16 merge differs from the merged float32 weights");
        Assert.False(adapted.allclose(baseWeight, rtol: 1e-2, atol: 1e-3), "the adapter changed nothing in bfloat16");
    }

    [Fact]
    public void Kl_AgainstAFolderWithAnAdapter_ComparesWithTheMergedModel()
    {
        using var loaded = LoadedModel.Load(folders.Adapted);
        using var ids = tensor(Ids, [1, Ids.Length]);
        using var labels = tensor(new long[] { -100, -100, 20, 30, 40, 50 }, [1, Ids.Length]);
        var (_, tokens, logits) = CausalLmLoss.SumWithLogits(loaded.Model, ids, labels);
        float Penalty(Regularizer r)
        {
            using (r) return r.OutputPenalty(ids, labels, logits!, tokens)!.item<float>();
        }
        float fromFolder = Penalty(Regularizer.Create("kl", 1.0, loaded, folders.Adapted, [], 64));
        // The base alone (the folder's weights without the adapter) is what the penalty compared with before.
        float fromBase = Penalty(new KlRegularizer(HfCheckpoint.Load(folders.Adapted)));
        logits!.Dispose();
        Assert.True(fromBase > 1e-7f, $"the adapter hardly changed the outputs ({fromBase}): the test would pass without it");
        Assert.True(fromFolder < 1e-3f * fromBase, $"KL to the starting model is {fromFolder}, against {fromBase} to the base alone");
    }

    [Theory]
    [InlineData("use_dora", "true")]
    [InlineData("fan_in_fan_out", "true")]
    [InlineData("bias", "\"lora_only\"")]
    [InlineData("rank_pattern", "{\"q_proj\": 2}")]
    [InlineData("alpha_pattern", "{\"v_proj\": 32}")]
    [InlineData("modules_to_save", "[\"lm_head\"]")]
    [InlineData("layers_to_transform", "[0]")]
    [InlineData("peft_type", "\"IA3\"")]
    [InlineData("r", "0")]
    [InlineData("lora_alpha", "\"sixteen\"")]
    public void Load_AdapterWithSettingsRemixDoesNotImplement_IsRefusedNamingTheField(string field, string value)
    {
        var folder = folders.CopyOfAdapted($"bad-{field}");
        LoraFolders.EditConfig(folder, c => c[field] = JsonNode.Parse(value));
        var e = Assert.Throws<InvalidInputException>(() => LoadedModel.Load(folder));
        Assert.StartsWith($"{Path.Combine(folder, PeftAdapter.ConfigFile)}: field '{field}': expected ", e.Message);
    }

    [Fact]
    public void Load_AdapterConfigWithPeftsUnusedKeys_Loads()
    {
        var folder = folders.CopyOfAdapted("peft-keys");
        LoraFolders.EditConfig(folder, c =>
        {
            c["use_dora"] = false; c["rank_pattern"] = new JsonObject(); c["alpha_pattern"] = new JsonObject(); c["modules_to_save"] = null;
            c["layers_to_transform"] = null; c["layers_pattern"] = null; c["init_lora_weights"] = true; c["revision"] = null;
            c["megatron_config"] = null; c["loftq_config"] = new JsonObject(); c["exclude_modules"] = null; c["lora_bias"] = false;
        });
        Assert.Equal(Logits(folders.Adapted), Logits(folder));
    }
}
