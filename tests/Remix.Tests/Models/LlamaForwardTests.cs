using Remix.Models;
using Remix.Models.Kernels;
using Remix.Tests.Support;
using static TorchSharp.torch;

namespace Remix.Tests.Models;

[Collection(Support.ThreadCountCollection.Name)]
public class LlamaForwardTests
{
    static readonly long[] Ids = [256, 72, 101, 108, 108, 111, 32, 119, 111, 114];

    public static TheoryData<string, bool, int, int, int?, bool, bool> Shapes => new()
    {
        { "llama", true, 4, 2, null, false, false },   // grouped-query attention, tied embeddings
        { "llama", false, 4, 4, null, true, true },    // multi-head, untied, attention and MLP bias
        { "qwen2", false, 4, 1, null, false, false },  // q/k/v bias, no o_proj bias, multi-query
        { "mistral", true, 4, 2, 3, false, false },    // sliding window of 3 over 10 tokens
        { "llama", true, 2, 1, null, false, false },   // head_dim 16: CpuCausalAttention at any vector width
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_EqualsNaiveDoublePrecisionReference(string type, bool tied, int heads, int kvHeads, int? window, bool attentionBias, bool mlpBias)
    {
        var config = TestModels.Config(type, tied, heads: heads, kvHeads: kvHeads, slidingWindow: window, attentionBias: attentionBias, mlpBias: mlpBias);
        using var model = TestModels.Create(config, seed: 7);
        var logits = TestModels.Logits(model, Ids);
        var expected = new NaiveLlama(model).Forward(Ids);
        for (int t = 0; t < Ids.Length; t++)
            for (int v = 0; v < config.VocabSize; v++)
                Assert.True(Math.Abs(expected[t][v] - logits[t * config.VocabSize + v]) < 2e-4,
                    $"position {t}, token {v}: expected {expected[t][v]}, found {logits[t * config.VocabSize + v]}");
    }

    [Fact]
    public void ParameterNames_AreTheHuggingFaceNames()
    {
        using var model = TestModels.Create(TestModels.Config("qwen2", tied: false, layers: 1));
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        string[] expected =
        [
            "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
            "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.bias",
            "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.k_proj.bias",
            "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.v_proj.bias",
            "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
            "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
        ];
        Assert.Equal(expected.Order(), names.Order());
        Assert.Equal(model.Config.ParameterCount, model.ParameterCount());
    }

    [Fact]
    public void TiedModel_HasNoLmHeadParameter_AndCountsMatchConfig()
    {
        using var model = TestModels.Create(TestModels.Config(tied: true));
        Assert.DoesNotContain(model.named_parameters(), p => p.name == "lm_head.weight");
        Assert.Equal(model.Config.ParameterCount, model.ParameterCount());
    }

    [Fact]
    public void BFloat16Model_StaysCloseToFloat32()
    {
        var config = TestModels.Config();
        using var f32 = TestModels.Create(config, seed: 3);
        using var bf16 = TestModels.Create(config, seed: 3, dtype: ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bf16.parameters().First().dtype);
        var a = TestModels.Logits(f32, Ids);
        var b = TestModels.Logits(bf16, Ids);
        double maxDiff = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        double scale = a.Max(Math.Abs);
        Assert.True(maxDiff < 0.1 * scale, $"bf16 logits differ by {maxDiff} (scale {scale})");
    }

    [Fact]
    public void RmsNorm_NormalizesInFloat32ThenScales()
    {
        using var norm = new RMSNorm(4, 1e-6, CPU, ScalarType.Float32);
        using (no_grad()) norm.Weight.copy_(tensor(new float[] { 1, 2, 3, 4 }));
        using var x = tensor(new float[] { 1, 2, 3, 4 }).view(1, 1, 4);
        using var y = norm.Forward(x);
        double rms = Math.Sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
        var expected = new[] { 1 / rms, 4 / rms, 9 / rms, 16 / rms };
        var actual = y.data<float>().ToArray();
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], actual[i], 3e-7 * expected[i]); // a float32 rounding or two
    }

    [Theory]
    [InlineData(ScalarType.Float64, true, 1e-12)]
    [InlineData(ScalarType.Float32, true, 2e-5)]
    [InlineData(ScalarType.Float32, false, 2e-5)]
    [InlineData(ScalarType.BFloat16, true, 2e-2)]
    public void RmsNorm_WrittenOutBackward_EqualsAutogradThroughTheElementaryOperations(ScalarType dtype, bool trainWeight, double tolerance)
    {
        using var scope = NewDisposeScope();
        // Reference: the written-out function, not the kernel (which takes rows of 8 at 256 and 128 bits and rounds otherwise).
        using var norm = new RMSNorm(8, 1e-5, CPU, dtype, KernelChoice.Reference);
        using (no_grad()) norm.Weight.copy_(linspace(0.5, 2, 8).to(dtype));
        norm.Weight.requires_grad_(trainWeight);
        var x = (randn(3, 5, 8, generator: new Generator(7)) * 3).to(dtype).requires_grad_(true);
        var upstream = randn(3, 5, 8, generator: new Generator(8)).to(dtype);

        var y = norm.Forward(x);
        autograd.backward([y], [upstream]);
        var (inputGrad, weightGrad) = (x.grad!.clone(), norm.Weight.grad?.clone());
        x.grad = null;
        norm.Weight.grad = null;

        // The same function through autograd, one elementary operation at a time.
        var x32 = dtype == ScalarType.Float64 ? x : x.to(ScalarType.Float32);
        var reference = norm.Weight * (x32 * rsqrt(linalg.vector_norm(x32, 2, [-1L], keepdim: true).pow(2) / 8 + 1e-5)).to(dtype);
        autograd.backward([reference], [upstream]);

        Assert.Equal(0, (y - reference).abs().max().to(ScalarType.Float64).item<double>());
        double scale = x.grad!.abs().max().to(ScalarType.Float64).item<double>();
        Assert.True((inputGrad - x.grad).abs().max().to(ScalarType.Float64).item<double>() <= tolerance * scale);
        if (trainWeight)
        {
            double weightScale = norm.Weight.grad!.abs().max().to(ScalarType.Float64).item<double>();
            Assert.True((weightGrad! - norm.Weight.grad).abs().max().to(ScalarType.Float64).item<double>() <= tolerance * weightScale);
        }
        else Assert.Null(weightGrad);
    }

    [Fact]
    public void RmsNorm_Float32Kernel_EqualsTheNormInDouble_WithAndWithoutGradients()
    {
        using var scope = NewDisposeScope();
        using var norm = new RMSNorm(48, 1e-5, CPU, ScalarType.Float32); // whole vectors at every width (3 of 16, 6 of 8, 12 of 4)
        using (no_grad()) norm.Weight.copy_(linspace(0.5, 2, 48));
        var x = (randn(3, 37, 48, generator: new Generator(7)) * 3).requires_grad_(true); // 111 rows: 3 whole blocks of 32 and a part
        var upstream = randn(3, 37, 48, generator: new Generator(8));
        Assert.Equal(CpuKernels.Accelerated, RmsNormKernel.Supports(x, norm.Weight));

        var y = norm.Forward(x);
        autograd.backward([y], [upstream]);
        Tensor withoutGradients;
        using (no_grad()) withoutGradients = norm.Forward(x);

        var x64 = x.detach().to(ScalarType.Float64).requires_grad_(true);
        var w64 = norm.Weight.detach().to(ScalarType.Float64).requires_grad_(true);
        var reference = w64 * x64 * rsqrt(x64.pow(2).mean([-1L], keepdim: true) + 1e-5);
        autograd.backward([reference], [upstream.to(ScalarType.Float64)]);

        Assert.True(y.detach().equal(withoutGradients).all().item<bool>());
        Assert.True((y.to(ScalarType.Float64) - reference).abs().max().item<double>() < 1e-5);
        Assert.True((x.grad!.to(ScalarType.Float64) - x64.grad!).abs().max().item<double>() < 1e-5);
        Assert.True((norm.Weight.grad!.to(ScalarType.Float64) - w64.grad!).abs().max().item<double>() < 1e-4);
    }

    [Fact]
    public void RmsNorm_Gradients_DoNotDependOnTheThreadCount()
    {
        using var scope = NewDisposeScope();
        int threads = get_num_threads();
        var grads = new List<Tensor>();
        try
        {
            foreach (int count in new[] { 1, 3 })
            {
                set_num_threads(count);
                using var norm = new RMSNorm(32, 1e-5, CPU, ScalarType.Float32);
                var x = randn(4, 50, 32, generator: new Generator(3)).requires_grad_(true);
                autograd.backward([norm.Forward(x)], [randn(4, 50, 32, generator: new Generator(4))]);
                grads.Add(x.grad!);
                grads.Add(norm.Weight.grad!.clone());
            }
        }
        finally
        {
            set_num_threads(threads);
        }
        Assert.True(grads[0].equal(grads[2]).all().item<bool>());
        Assert.True(grads[1].equal(grads[3]).all().item<bool>());
    }
}
