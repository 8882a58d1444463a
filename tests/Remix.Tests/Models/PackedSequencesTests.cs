using Remix.Data.Batching;
using Remix.Models.Kernels;
using Remix.Models;
using Remix.Runtime;
using Remix.Tests.Support;
using static TorchSharp.torch;

namespace Remix.Tests.Models;

/// <summary>
/// Examples packed one after another into one row (no padding), each attending only within itself with positions from 0:
/// the attention kernel gives each sequence exactly what it gets alone, and the model's loss and gradients equal the padded
/// batch's, on the CPU kernel and on libtorch's masked attention.
/// </summary>
[Collection(Support.ThreadCountCollection.Name)]
public class PackedSequencesTests
{
    static readonly int[] Lengths = [5, 1, 13, 8, 4];

    public static TheoryData<int> Widths => new([128, 256, 512]);

    static Tensor Attention(int bits, Tensor q, Tensor k, Tensor v, Tensor cos, Tensor signedSin, IReadOnlyList<int>? packed) => bits switch
    {
        128 => CpuCausalAttention.Apply<FloatVector128>(q, k, v, cos, signedSin, packed),
        256 => CpuCausalAttention.Apply<FloatVector256>(q, k, v, cos, signedSin, packed),
        _ => CpuCausalAttention.Apply<FloatVector512>(q, k, v, cos, signedSin, packed),
    };

    [Theory]
    [MemberData(nameof(Widths))]
    public void AttentionKernel_GivesEachPackedSequence_BitForBitWhatItGetsAlone(int bits)
    {
        using var scope = NewDisposeScope();
        const int heads = 4, kvHeads = 2, d = 16;
        int total = Lengths.Sum();
        var generator = new Generator(21);
        var q = randn([1, total, heads, d], generator: generator).requires_grad_();
        var k = randn([1, total, kvHeads, d], generator: generator).requires_grad_();
        var v = randn([1, total, kvHeads, d], generator: generator).requires_grad_();
        var gradOutput = randn([1, total, heads, d], generator: generator);
        var rotary = new RotaryEmbedding(d, 10000, null);
        var (cos, signedSin) = rotary.Compute(LlamaModel.PackedPositions(Lengths, CPU), ScalarType.Float32);
        if (CpuKernels.Accelerated) Assert.True(CpuCausalAttention.Supports(q, k, v, cos, signedSin, Lengths));
        Assert.False(CpuCausalAttention.Supports(q, k, v, cos, signedSin, [5, 1]));            // lengths that do not fill the row
        Assert.False(CpuCausalAttention.Supports(q, k, v, cos, signedSin, [.. Lengths, 0])); // an empty sequence

        var packed = Attention(bits, q, k, v, cos, signedSin, Lengths);
        packed.backward([gradOutput]);
        int start = 0;
        foreach (int n in Lengths)
        {
            Tensor Part(Tensor t) => t.narrow(1, start, n).detach().clone().requires_grad_(t.requires_grad);
            var (qa, ka, va) = (Part(q), Part(k), Part(v));
            var (cosA, sinA) = rotary.Compute(arange(n, ScalarType.Int64).unsqueeze(0), ScalarType.Float32);
            var alone = Attention(bits, qa, ka, va, cosA, sinA, null);
            alone.backward([gradOutput.narrow(1, start, n)]);
            Assert.True(alone.equal(packed.narrow(1, start, n)).all().item<bool>(), $"output of the sequence at {start} differs");
            Assert.True(qa.grad!.equal(q.grad!.narrow(1, start, n)).all().item<bool>(), $"dq of the sequence at {start} differs");
            Assert.True(ka.grad!.equal(k.grad!.narrow(1, start, n)).all().item<bool>(), $"dk of the sequence at {start} differs");
            Assert.True(va.grad!.equal(v.grad!.narrow(1, start, n)).all().item<bool>(), $"dv of the sequence at {start} differs");
            start += n;
        }
        Assert.Throws<ArgumentException>(() => Attention(bits, q, k, v, cos, signedSin, [3, 4]));
    }

    public static TheoryData<string, bool, int, int, int?, bool, KernelChoice> Shapes => new()
    {
        { "llama", true, 2, 1, null, false, KernelChoice.Auto },      // head_dim 16: the CPU kernel at every width
        { "llama", true, 2, 1, null, false, KernelChoice.Reference }, // libtorch's attention with the packed mask
        { "llama", false, 4, 4, null, true, KernelChoice.Auto },      // untied, biases, head_dim 8
        { "qwen2", false, 2, 1, null, false, KernelChoice.Auto },     // q/k/v biases
        { "mistral", true, 2, 1, 3, false, KernelChoice.Auto },       // a sliding window of 3, shorter than most sequences
        { "mistral", true, 2, 1, 3, false, KernelChoice.Reference },
    };

    /// <summary>Examples of different lengths, labelled on their later tokens; the last is labelled from its first token on.</summary>
    static List<EncodedExample> Examples()
    {
        var random = new Random(5);
        return [.. Lengths.Select((n, i) =>
        {
            var ids = Enumerable.Range(0, n).Select(_ => random.Next(1, 250)).ToArray();
            var labels = ids.Select((id, t) => i == Lengths.Length - 1 || t >= n / 2 ? id : EncodedExample.IgnoreIndex).ToArray();
            return new EncodedExample($"e{i}", ids, labels);
        })];
    }

    static (double Loss, long Tokens, Dictionary<string, Tensor> Gradients) LossAndGradients(LlamaForCausalLM model, ITokenBatch batch)
    {
        foreach (var p in model.parameters()) p.grad = null;
        var (ids, labels) = batch.ToTensors(CPU);
        var (sum, tokens) = CausalLmLoss.Sum(model, ids, labels, batch.PackedLengths);
        sum.backward();
        return (sum.item<float>(), tokens, model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void PackedBatch_GivesThePaddedBatchsLossAndGradients(string type, bool tied, int heads, int kvHeads, int? window, bool bias, KernelChoice kernels)
    {
        using var scope = NewDisposeScope();
        var config = TestModels.Config(type, tied, heads: heads, kvHeads: kvHeads, slidingWindow: window, attentionBias: bias, mlpBias: bias);
        using var seeded = TestModels.Create(config, seed: 8);
        using var model = new LlamaForCausalLM(config, CPU, ScalarType.Float32, kernels);
        model.load_state_dict(seeded.state_dict());
        var examples = Examples();
        var padded = PaddedBatch.From(examples, padId: 0);
        var packed = PackedBatch.From(examples);
        Assert.Equal(padded.LossTokenCount, packed.LossTokenCount);
        Assert.Equal(padded.TokenCount, packed.TokenCount);

        var (paddedLoss, paddedTokens, paddedGrads) = LossAndGradients(model, padded);
        var (packedLoss, packedTokens, packedGrads) = LossAndGradients(model, packed);
        Assert.Equal(paddedTokens, packedTokens);
        Assert.Equal(paddedLoss, packedLoss, tolerance: 1e-5 * Math.Abs(paddedLoss));
        foreach (var (name, expected) in paddedGrads)
        {
            double scale = expected.abs().max().item<float>();
            double difference = (packedGrads[name] - expected).abs().max().item<float>();
            Assert.True(difference <= 1e-4 * scale + 1e-7, $"{name}: gradients differ by {difference} (largest {scale})");
        }
    }

    [Fact]
    public void PackedBatch_UnlabelsEachFirstToken_AndMapsLabelledPositionsToTheirExamples()
    {
        var a = new EncodedExample("a", [1, 2, 3], [1, 2, 3]);
        var b = new EncodedExample("b", [4], [4]);
        var c = new EncodedExample("c", [5, 6], [-100, 6]);
        var batch = PackedBatch.From([a, b, c]);
        Assert.Equal([1L, 2, 3, 4, 5, 6], batch.InputIds);
        Assert.Equal([-100L, 2, 3, -100, -100, 6], batch.Labels); // no loss from one example's last token on the next one's first
        Assert.Equal([3, 1, 2], batch.Lengths);
        Assert.Equal(3, batch.LossTokenCount);
        Assert.Equal(PaddedBatch.From([a, b, c], 0).LossTokenCount, batch.LossTokenCount);
        Assert.Equal(6, batch.TokenCount);
        using var labels = tensor(batch.Labels, [1, 6]);
        using var positions = CausalLmLoss.LabelledPositions(labels);
        Assert.Equal([0L, 1, 4], positions.data<long>().ToArray());
        Assert.Equal([0, 0, 2], positions.data<long>().ToArray().Select(batch.ExampleAt));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.ExampleAt(5));
        Assert.Throws<ArgumentException>(() => PackedBatch.From([]));
    }

    [Fact]
    public void Model_RefusesPackedLengthsThatDoNotFitItsInput()
    {
        using var model = TestModels.Create(TestModels.Config(heads: 2, kvHeads: 1));
        using var ids = tensor(new long[] { 1, 2, 3, 4 }, [1, 4]);
        using var positions = LlamaModel.PackedPositions([2, 2], CPU);
        Assert.Equal([0L, 1, 0, 1], positions.data<long>().ToArray());
        Assert.Throws<ArgumentException>(() => model.Model.Forward(ids, positions, null, null, packed: [2, 1]));
        using var two = tensor(new long[] { 1, 2, 3, 4 }, [2, 2]);
        Assert.Throws<ArgumentException>(() => model.Model.Forward(two, positions, null, null, packed: [2, 2]));
    }

    [Fact]
    public void PacksSequences_WhereAttentionRunsOnTheCpuKernel()
    {
        var config = TestModels.Config(heads: 2, kvHeads: 1); // head_dim 16
        using var auto = new LlamaForCausalLM(config, CPU, ScalarType.Float32, KernelChoice.Auto);
        using var reference = new LlamaForCausalLM(config, CPU, ScalarType.Float32, KernelChoice.Reference);
        using var float64 = new LlamaForCausalLM(config, CPU, ScalarType.Float64, KernelChoice.Auto);
        using var oddHeads = new LlamaForCausalLM(TestModels.Config(hidden: 36, heads: 2, kvHeads: 1), CPU, ScalarType.Float32, KernelChoice.Auto); // head_dim 18
        Assert.Equal(KernelChoices.UsesCpuKernels(KernelChoice.Auto), auto.PacksSequences);
        Assert.False(reference.PacksSequences);
        Assert.False(float64.PacksSequences);
        Assert.False(oddHeads.PacksSequences);
    }
}
