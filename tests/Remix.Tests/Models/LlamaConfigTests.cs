using System.Text.Json;
using Remix.Models;
using Remix.Tests.Support;

namespace Remix.Tests.Models;

public class LlamaConfigTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "configs", name);

    static LlamaConfig ParseText(string json) => LlamaConfig.Parse(JsonDocument.Parse(json).RootElement, "config.json");

    [Fact]
    public void Llama3Config_ReadsGqaRopeScalingAndEosList()
    {
        var c = LlamaConfig.Load(Fixture("llama3.json"));
        Assert.Equal(("llama", 128256, 2048, 8192, 16, 32, 8, 64), (c.ModelType, c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim));
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Equal(500000.0, c.RopeTheta);
        Assert.Equal(new RopeScaling("llama3", 32, 1, 4, 8192), c.RopeScaling);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds);
        Assert.Equal(128000, c.BosTokenId);
        Assert.Equal("bfloat16", c.TorchDtype);
        Assert.False(c.QkvBias);
        Assert.Null(c.SlidingWindow);
        Assert.Equal(1_235_814_400L, c.ParameterCount); // Llama 3.2 1B
    }

    [Fact]
    public void Transformers5Config_WithRopeParametersAndDtype_EqualsTheLegacySpelling()
    {
        var v5 = LlamaConfig.Load(Fixture("llama3-transformers5.json"));
        var legacy = LlamaConfig.Load(Fixture("llama3.json"));
        Assert.Equal(legacy.RopeTheta, v5.RopeTheta);
        Assert.Equal(legacy.RopeScaling, v5.RopeScaling);
        Assert.Equal("bfloat16", v5.TorchDtype);
        Assert.Equal(64, v5.HeadDim); // derived: 2048 / 32
    }

    [Fact]
    public void Qwen2Config_HasQkvBiasButNoOutputBias()
    {
        var c = LlamaConfig.Load(Fixture("qwen2.json"));
        Assert.Equal("qwen2", c.ModelType);
        Assert.True(c.QkvBias);
        Assert.False(c.OutputBias);
        Assert.Equal(64, c.HeadDim);
        Assert.Equal(2, c.NumKeyValueHeads);
        Assert.Null(c.SlidingWindow); // use_sliding_window is false
        Assert.Equal(494_032_768L, c.ParameterCount); // Qwen2-0.5B
    }

    [Fact]
    public void MistralConfig_KeepsSlidingWindowAndUntiedHead()
    {
        var c = LlamaConfig.Load(Fixture("mistral.json"));
        Assert.Equal(4096, c.SlidingWindow);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(128, c.HeadDim);
        Assert.Equal([2], c.EosTokenIds);
        Assert.Equal(7_241_732_096L, c.ParameterCount); // Mistral 7B
    }

    [Theory]
    [InlineData("llama3.json")]
    [InlineData("qwen2.json")]
    [InlineData("mistral.json")]
    [InlineData("llama3-transformers5.json")]
    public void ToJson_ThenParse_GivesTheSameConfig(string name)
    {
        var c = LlamaConfig.Load(Fixture(name));
        var again = ParseText(c.ToJson());
        Assert.Equal(c with { ExtraFields = null, EosTokenIds = [] }, again with { ExtraFields = null, EosTokenIds = [] });
        Assert.Equal(c.EosTokenIds, again.EosTokenIds);
        Assert.Equal(c.ExtraFields?.ToJsonString(), again.ExtraFields?.ToJsonString());
        Assert.Equal(c.ToJson(), again.ToJson());
    }

    [Theory]
    [InlineData("{\"num_attention_heads\": 4, \"vocab_size\": 10, \"intermediate_size\": 8, \"num_hidden_layers\": 1}", "field 'hidden_size': expected a positive integer, found nothing")]
    [InlineData("{\"hidden_size\": \"64\", \"num_attention_heads\": 4}", "field 'hidden_size': expected a positive integer, found \"64\"")]
    [InlineData("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"num_key_value_heads\": 3}", "field 'num_key_value_heads': expected a divisor of num_attention_heads (4), found 3")]
    [InlineData("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"vocab_size\": 10, \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}", "field 'rope_scaling.rope_type': expected one of default, linear, llama3, found \"yarn\"")]
    [InlineData("{\"model_type\": \"gpt2\"}", "field 'model_type': expected one of llama, mistral, qwen2, found \"gpt2\"")]
    [InlineData("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"vocab_size\": 10, \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"eos_token_id\": 99}", "field 'eos_token_id': expected token ids below vocab_size (10), found 99")]
    [InlineData("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"vocab_size\": 10, \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"torch_dtype\": \"int8\"}", "field 'torch_dtype': expected float32, bfloat16 or float16, found \"int8\"")]
    [InlineData("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"vocab_size\": 10, \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"hidden_act\": \"gelu\"}", "field 'hidden_act': expected \"silu\", found \"gelu\"")]
    public void BadConfig_IsRefusedWithTheFieldNamed(string json, string message)
    {
        var e = Assert.Throws<InvalidInputException>(() => ParseText(json));
        Assert.Equal($"config.json: {message}", e.Message);
    }

    [Fact]
    public void MalformedJson_NamesFileAndLine()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), "{\n  \"hidden_size\": 64,\n  oops\n}");
        var e = Assert.Throws<InvalidInputException>(() => LlamaConfig.Load(dir.File("config.json")));
        Assert.StartsWith($"{dir.File("config.json")}: malformed JSON at line 3", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
