using Remix.Data.Batching;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Runtime;
using Remix.Training;
using static TorchSharp.torch;
using AdamW = Remix.Training.AdamW;
using Parameter = TorchSharp.Modules.Parameter;

namespace Remix.Tests.Training;

public class LossAndOptimizerTests
{
    static readonly long[] Ids = [256, 10, 20, 30, 40, 50, 60];
    static readonly long[] Labels = [-100, -100, -100, 30, 40, -100, 60];

    [Fact]
    public void Loss_EqualsHandComputedCrossEntropyOverLabelledTokens()
    {
        using var model = TestModels.Create(TestModels.Config(), seed: 3);
        var logits = TestModels.Logits(model, Ids); // [7, vocab]
        int vocab = model.Config.VocabSize;
        double expected = 0;
        int count = 0;
        for (int t = 0; t + 1 < Ids.Length; t++)
        {
            if (Labels[t + 1] == -100) continue;
            var row = logits.Skip(t * vocab).Take(vocab).Select(x => (double)x).ToArray();
            double max = row.Max(), logZ = max + Math.Log(row.Sum(x => Math.Exp(x - max)));
            expected += logZ - row[Labels[t + 1]];
            count++;
        }
        using var ids = tensor(Ids, [1, Ids.Length]);
        using var labels = tensor(Labels, [1, Labels.Length]);
        var (sum, tokens) = CausalLmLoss.Sum(model, ids, labels);
        Assert.Equal(3, tokens);
        Assert.Equal(3, count);
        Assert.Equal(expected, sum.item<float>(), tolerance: 1e-5);
        sum.Dispose();
    }

    [Fact]
    public void LogitsAtLabels_AreTheFullForwardsLogitsWhereTheNextTokenIsLabelled()
    {
        using var model = TestModels.Create(TestModels.Config(), seed: 3);
        var full = TestModels.Logits(model, Ids); // [7, vocab]
        int vocab = model.Config.VocabSize;
        using var ids = tensor(Ids, [1, Ids.Length]);
        using var labels = tensor(Labels, [1, Labels.Length]);
        var (logits, positions, gold) = CausalLmLoss.AtLabels(model, ids, labels);
        Assert.Equal([2L, 3, 5], positions.data<long>().ToArray()); // position t predicts label t + 1
        Assert.Equal([30L, 40, 60], gold.data<long>().ToArray());
        Assert.Equal([3L, vocab], logits.shape);
        var selected = logits.data<float>().ToArray();
        for (int k = 0; k < 3; k++)
        {
            int t = (int)positions[k].item<long>();
            for (int v = 0; v < vocab; v++) Assert.Equal(full[t * vocab + v], selected[k * vocab + v], tolerance: 1e-5);
        }
        foreach (var tensor in new[] { logits, positions, gold }) tensor.Dispose();
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        using var model = TestModels.Create(TestModels.Config(layers: 1, hidden: 16, heads: 2, kvHeads: 1), seed: 4, dtype: ScalarType.Float64);
        using var ids = tensor(Ids, [1, Ids.Length]);
        using var labels = tensor(Labels, [1, Labels.Length]);
        double Loss()
        {
            using var scope = NewDisposeScope();
            return CausalLmLoss.Sum(model, ids, labels).Sum.item<double>();
        }
        var (loss, _) = CausalLmLoss.Sum(model, ids, labels);
        loss.backward();
        var checkedParameters = new[] { "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight", "model.embed_tokens.weight", "model.norm.weight", "model.layers.0.input_layernorm.weight" };
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var name in checkedParameters)
        {
            var p = parameters[name];
            var flat = p.view(-1);
            var grad = p.grad!.view(-1);
            foreach (long i in new long[] { 0, flat.shape[0] / 3, flat.shape[0] - 1, 30 % flat.shape[0] })
            {
                const double h = 1e-6;
                double original = flat[i].item<double>();
                using (no_grad()) flat[i] = original + h;
                double up = Loss();
                using (no_grad()) flat[i] = original - h;
                double down = Loss();
                using (no_grad()) flat[i] = original;
                double numeric = (up - down) / (2 * h), analytic = grad[i].item<double>();
                Assert.True(Math.Abs(numeric - analytic) <= 1e-6 + 1e-5 * Math.Abs(numeric), $"{name}[{i}]: finite difference {numeric}, autograd {analytic}");
            }
        }
        loss.Dispose();
    }

    [Fact]
    public void AdamW_MatchesTheUpdateRuleByHand()
    {
        var w = new Parameter(tensor(new float[] { 1.0f, -2.0f }));
        using var adam = new AdamW([("w", w)], beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1);
        double[] value = [1.0, -2.0], m = [0, 0], v = [0, 0];
        double[][] grads = [[0.5, -1.0], [0.25, 2.0], [-1.0, 0.1]];
        double lr = 0.01;
        for (int step = 1; step <= grads.Length; step++)
        {
            w.grad = tensor(grads[step - 1].Select(x => (float)x).ToArray());
            adam.Update(lr);
            for (int i = 0; i < 2; i++)
            {
                value[i] *= 1 - lr * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * grads[step - 1][i];
                v[i] = 0.95 * v[i] + 0.05 * grads[step - 1][i] * grads[step - 1][i];
                double mHat = m[i] / (1 - Math.Pow(0.9, step)), vHat = v[i] / (1 - Math.Pow(0.95, step));
                value[i] -= lr * mHat / (Math.Sqrt(vHat) + 1e-8);
            }
            var actual = w.data<float>().ToArray();
            for (int i = 0; i < 2; i++) Assert.Equal(value[i], actual[i], tolerance: 1e-6);
        }
        Assert.Equal(3, adam.Step);
    }

    [Fact]
    public void AdamW_OnATensorLargerThanItsSlices_EqualsTheWholeTensorFormulaExactly()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        var initial = randn([300_001], generator: generator);
        var w = new Parameter(initial.clone());
        using var adam = new AdamW([("w", w)], beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, kernels: KernelChoice.Reference);
        Tensor value = initial.clone(), m = zeros_like(initial), v = zeros_like(initial);
        for (int step = 1; step <= 3; step++)
        {
            var grad = randn([300_001], generator: generator);
            w.grad = grad.clone();
            adam.Update(0.01);
            // PyTorch's single-tensor AdamW, over the whole tensor at once.
            value.mul_(1 - 0.01 * 0.1);
            m.lerp_(grad, 0.1);
            v.mul_(0.95).addcmul_(grad, grad, 0.05);
            var denom = (v.sqrt() / Math.Sqrt(1 - Math.Pow(0.95, step))).add_(1e-8);
            value.addcdiv_(m, denom, -0.01 / (1 - Math.Pow(0.9, step)));
            Assert.True(w.detach().eq(value).all().item<bool>(), $"step {step}: the sliced update differs");
        }
    }

    [Fact]
    public void AdamW_ItsKernel_AgreesWithLibtorchsOperations_WithinFloat32Rounding()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(13);
        var initial = randn([300_001], generator: generator);
        var (fused, reference) = (new Parameter(initial.clone()), new Parameter(initial.clone()));
        using var kernel = new AdamW([("w", fused)], weightDecay: 0.1);
        using var operations = new AdamW([("w", reference)], weightDecay: 0.1, kernels: KernelChoice.Reference);
        for (int step = 1; step <= 5; step++)
        {
            var grad = randn([300_001], generator: generator);
            fused.grad = grad.clone();
            reference.grad = grad.clone();
            kernel.Update(0.01, 0.7);
            operations.Update(0.01, 0.7);
            float difference = (fused.detach() - reference.detach()).abs().max().item<float>();
            Assert.True(difference < 1e-6, $"step {step}: the kernel's weights differ from libtorch's by {difference}");
        }
        Assert.False(fused.detach().eq(initial).all().item<bool>(), "the update moved nothing");
    }

    [Fact]
    public void AdamW_WithAGradientScale_EqualsClippingFirst()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(12);
        var initial = randn([300_001], generator: generator);
        var (clipped, scaled) = (new Parameter(initial.clone()), new Parameter(initial.clone()));
        using var clipFirst = new AdamW([("w", clipped)], weightDecay: 0.1);
        using var scaleInside = new AdamW([("w", scaled)], weightDecay: 0.1);
        for (int step = 1; step <= 3; step++)
        {
            var grad = randn([300_001], generator: generator) * 0.01; // norm about 5.5: clipped to 1
            clipped.grad = grad.clone();
            scaled.grad = grad.clone();
            double norm = GradientClipping.ClipGlobalNorm([clipped], 1.0);
            clipFirst.Update(0.01);
            Assert.Equal(norm, GradientClipping.GlobalNorm([scaled]));
            scaleInside.Update(0.01, GradientClipping.Coefficient(norm, 1.0));
            Assert.True(clipped.detach().eq(scaled.detach()).all().item<bool>(), $"step {step}: the weights differ");
        }
        Assert.Equal(1, GradientClipping.Coefficient(0.5, 1.0));
        Assert.Equal(1, GradientClipping.Coefficient(50, 0)); // max norm 0: no clipping
    }

    [Fact]
    public void AdamW_SkipsWeightDecayForBiasesAndNorms_AndRoundTripsItsState()
    {
        using var dir = new TempDir();
        var bias = new Parameter(tensor(new float[] { 1f }));
        var norm = new Parameter(tensor(new float[] { 1f }));
        using var adam = new AdamW([("x.bias", bias), ("model.norm.weight", norm)], weightDecay: 0.5);
        bias.grad = zeros(1);
        norm.grad = zeros(1);
        adam.Update(0.1);
        Assert.Equal(1f, bias.item<float>());
        Assert.Equal(1f, norm.item<float>());
        adam.Save(dir.File("opt.safetensors"));
        using var again = new AdamW([("x.bias", bias), ("model.norm.weight", norm)], weightDecay: 0.5);
        again.Load(dir.File("opt.safetensors"));
        Assert.Equal(1, again.Step);
    }

    [Fact]
    public void Bf16Weights_AccumulateUpdatesSmallerThanTheirSpacing_InAFloat32Master_ThatResumes()
    {
        using var dir = new TempDir();
        // At 1.0 bfloat16's spacing is 2^-7: an update of 1e-3 rounds away if the weight itself is the only copy.
        var w = new Parameter(ones(2, dtype: ScalarType.BFloat16));
        var reference = new Parameter(ones(2)); // the same run in float32
        using var adam = new AdamW([("w", w)]);
        using var adam32 = new AdamW([("w", reference)]);
        for (int step = 0; step < 10; step++)
        {
            w.grad = ones(2, dtype: ScalarType.BFloat16);
            reference.grad = ones(2);
            adam.Update(1e-3);
            adam32.Update(1e-3);
        }
        Assert.Equal(reference.to(ScalarType.BFloat16).to(ScalarType.Float32).data<float>().ToArray(), w.to(ScalarType.Float32).data<float>().ToArray());
        Assert.NotEqual(1f, w.to(ScalarType.Float32)[0].item<float>());

        // The master copy is saved with the moments: an optimizer resumed from the file continues exactly.
        adam.Save(dir.File("opt.safetensors"));
        var copy = new Parameter(w.detach().clone());
        using var resumed = new AdamW([("w", copy)]);
        resumed.Load(dir.File("opt.safetensors"));
        for (int step = 0; step < 5; step++)
        {
            w.grad = ones(2, dtype: ScalarType.BFloat16);
            copy.grad = ones(2, dtype: ScalarType.BFloat16);
            adam.Update(1e-3);
            resumed.Update(1e-3);
        }
        Assert.Equal(w.to(ScalarType.Float32).data<float>().ToArray(), copy.to(ScalarType.Float32).data<float>().ToArray());
        using var file = Remix.Checkpoints.SafeTensors.SafeTensorsFile.Open(dir.File("opt.safetensors"));
        Assert.True(file.Contains("w.master"));
    }

    [Fact]
    public void Schedule_WarmsUpLinearly_ThenFollowsTheCosine()
    {
        var s = new LearningRateSchedule(1e-3, TotalSteps: 100, WarmupRatio: 0.05);
        Assert.Equal(5, s.WarmupSteps);
        Assert.Equal(0, s.At(0));
        Assert.Equal(2e-4, s.At(1), tolerance: 1e-12);
        Assert.Equal(1e-3, s.At(5), tolerance: 1e-12);
        Assert.Equal(1e-3 * 0.5 * (1 + Math.Cos(Math.PI * 45 / 95)), s.At(50), tolerance: 1e-12);
        Assert.Equal(0, s.At(100), tolerance: 1e-12);
        Assert.Equal(3, new LearningRateSchedule(1, 41, 0.05).WarmupSteps); // ceil(2.05)
    }

    [Fact]
    public void ClipGlobalNorm_ScalesToTheLimit()
    {
        var a = new Parameter(zeros(2));
        var b = new Parameter(zeros(1));
        a.grad = tensor(new float[] { 3, 0 });
        b.grad = tensor(new float[] { 4 });
        double norm = GradientClipping.ClipGlobalNorm([a, b], 1.0);
        Assert.Equal(5, norm, tolerance: 1e-6);
        Assert.Equal(3 / (5 + 1e-6), a.grad.data<float>()[0], tolerance: 2e-7);
        Assert.Equal(4 / (5 + 1e-6), b.grad!.data<float>()[0], tolerance: 2e-7);
        Assert.Equal(1, GradientClipping.ClipGlobalNorm([a, b], 10.0), tolerance: 1e-6); // under the limit: untouched
    }

    [Theory]
    [InlineData("epochs", "epochs")]
    [InlineData("steps:120", "steps:120")]
    [InlineData("loss:1e-4:10", "loss:0.0001:10")]
    [InlineData("loss:0.5:3:cumulative", "loss:0.5:3:cumulative")]
    [InlineData("accuracy:1.0", "accuracy:1")]
    [InlineData("accuracy:0.9:25", "accuracy:0.9:25")]
    public void StopRule_ParsesTheCliSyntax(string text, string canonical) => Assert.Equal(canonical, StopRule.Parse(text).ToString());

    [Theory]
    [InlineData("loss:abc:3")]
    [InlineData("loss:0.1")]
    [InlineData("accuracy:2")]
    [InlineData("sometimes")]
    [InlineData("steps:0")]
    [InlineData("steps:-3")]
    [InlineData("steps:1.5")]
    public void StopRule_RefusesBadSyntax(string text) => Assert.Throws<InvalidInputException>(() => StopRule.Parse(text));

    [Fact]
    public void LossTokenCount_SkipsTheFirstColumn()
    {
        var batch = PaddedBatch.From([new EncodedExample("a", [1, 2, 3], [1, 2, 3]), new EncodedExample("b", [1, 2], [-100, 2])], 0);
        Assert.Equal(3, batch.LossTokenCount);
    }
}
