using Remix.Models;
using static TorchSharp.torch;

namespace Remix.Tests.Models;

public class RotaryAndAttentionTests
{
    [Fact]
    public void InverseFrequencies_ForHeadDim4_AreOneAndOneHundredth()
    {
        var f = RotaryEmbedding.ComputeInverseFrequencies(4, 10000, null);
        Assert.Equal([1f, 0.01f], f);
    }

    [Fact]
    public void Rope_RotatesFirstAndSecondHalfAsPairs()
    {
        var rope = new RotaryEmbedding(4, 10000, null);
        using var positions = tensor(new long[] { 0, 3 }, [1, 2]);
        var (cos, signedSin) = rope.Compute(positions, ScalarType.Float32);
        // [batch 1, seq 2, heads 1, head_dim 4]; pairs are (x0, x2) at frequency 1 and (x1, x3) at 0.01.
        using var x = tensor(new float[] { 1, 2, 3, 4, 1, 2, 3, 4 }, [1, 2, 1, 4]);
        using var y = RotaryEmbedding.Apply(x, cos, signedSin);
        var r = y.data<float>().ToArray();
        Assert.Equal([1f, 2f, 3f, 4f], r[..4]);
        double c0 = Math.Cos(3), s0 = Math.Sin(3), c1 = Math.Cos(0.03), s1 = Math.Sin(0.03);
        double[] expected = [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], r[4 + i], tolerance: 1e-6);
        cos.Dispose();
        signedSin.Dispose();
    }

    [Fact]
    public void Rope_DotProductDependsOnlyOnRelativePosition()
    {
        var rope = new RotaryEmbedding(8, 10000, null);
        var gen = new Generator(5, CPU);
        using var q = randn([1, 1, 1, 8], generator: gen);
        using var k = randn([1, 1, 1, 8], generator: gen);
        double Dot(long pq, long pk)
        {
            using var scope = NewDisposeScope();
            var (cq, sq) = rope.Compute(tensor(new[] { pq }, [1, 1]), ScalarType.Float32);
            var (ck, sk) = rope.Compute(tensor(new[] { pk }, [1, 1]), ScalarType.Float32);
            return (RotaryEmbedding.Apply(q, cq, sq) * RotaryEmbedding.Apply(k, ck, sk)).sum().item<float>();
        }
        Assert.Equal(Dot(5, 2), Dot(105, 102), tolerance: 1e-5);
        Assert.NotEqual(Dot(5, 2), Dot(5, 4), tolerance: 0.1);
    }

    [Fact]
    public void Llama3Scaling_MatchesTheClosedFormInDouble()
    {
        var s = new RopeScaling("llama3", 8, 1, 4, 8192);
        var f = RotaryEmbedding.ComputeInverseFrequencies(128, 500000, s);
        for (int i = 0; i < 64; i++)
        {
            double inv = Math.Pow(500000, -2.0 * i / 128), wavelen = 2 * Math.PI / inv, expected;
            if (wavelen < 8192 / 4.0) expected = inv;                 // high frequencies kept
            else if (wavelen > 8192 / 1.0) expected = inv / 8;        // low frequencies divided by the factor
            else
            {
                double smooth = (8192 / wavelen - 1) / (4 - 1);
                expected = (1 - smooth) * inv / 8 + smooth * inv;
            }
            Assert.True(Math.Abs(f[i] - expected) <= 1e-6 * expected + 1e-12, $"frequency {i}: expected {expected}, found {f[i]}");
        }
        Assert.Equal(1f, f[0]);
        Assert.True(f[63] < Math.Pow(500000, -126.0 / 128) / 7.9);
    }

    [Fact]
    public void LinearScaling_DividesEveryFrequency()
    {
        var plain = RotaryEmbedding.ComputeInverseFrequencies(16, 10000, null);
        var scaled = RotaryEmbedding.ComputeInverseFrequencies(16, 10000, new RopeScaling("linear", 4));
        for (int i = 0; i < 8; i++) Assert.Equal(plain[i] / 4, scaled[i], tolerance: 1e-6f * plain[i]);
    }

    [Fact]
    public void Attention_WithEqualKeys_AveragesTheVisibleValues()
    {
        // q·k is the same for every key, so causal attention averages the values seen so far.
        using var q = zeros([1, 1, 3, 2]);
        using var k = zeros([1, 1, 3, 2]);
        using var v = tensor(new float[] { 1, 10, 2, 20, 6, 60 }, [1, 1, 3, 2]);
        using var causal = nn.functional.scaled_dot_product_attention(q, k, v, null, 0, true);
        using var mask = AttentionMask.Build(null, 1, 3, 0, null, ScalarType.Float32, CPU);
        using var masked = nn.functional.scaled_dot_product_attention(q, k, v, mask, 0, false);
        float[] expected = [1, 10, 1.5f, 15, 3, 30];
        Assert.Equal(expected, causal.data<float>().ToArray());
        Assert.Equal(expected, masked.data<float>().ToArray());
    }

    [Fact]
    public void Attention_SoftmaxWeightsMatchHandComputation()
    {
        // One query [1, 0] against keys [0,0] and [2,0] (scale 1/sqrt(2)): weights ∝ e^0 and e^{2/√2}.
        using var q = tensor(new float[] { 0, 0, 1, 0 }, [1, 1, 2, 2]);
        using var k = tensor(new float[] { 0, 0, 2, 0 }, [1, 1, 2, 2]);
        using var v = tensor(new float[] { 1, 0, 0, 1 }, [1, 1, 2, 2]);
        using var o = nn.functional.scaled_dot_product_attention(q, k, v, null, 0, true);
        double w1 = Math.Exp(2 / Math.Sqrt(2)) / (1 + Math.Exp(2 / Math.Sqrt(2)));
        var r = o.data<float>().ToArray();
        Assert.Equal(1 - w1, r[2], tolerance: 1e-6);
        Assert.Equal(w1, r[3], tolerance: 1e-6);
    }

    [Fact]
    public void AttentionMask_CombinesCausalityPaddingAndWindow()
    {
        using var keyMask = tensor(new long[] { 0, 1, 1, 1 }, [1, 4]);
        using var mask = AttentionMask.Build(keyMask, 1, 4, 0, 2, ScalarType.Float32, CPU);
        var m = mask.data<float>().ToArray().Select(x => x == 0 ? 1 : 0).ToArray();
        int[] expected =
        [
            0, 0, 0, 0,  // padding query: sees nothing (finite, no NaN)
            0, 1, 0, 0,
            0, 1, 1, 0,
            0, 0, 1, 1,  // window 2: position 3 sees 2 and 3
        ];
        Assert.Equal(expected, m);
    }

    [Fact]
    public void RepeatKv_RepeatsEachKeyHeadForItsGroup()
    {
        using var kv = arange(4, ScalarType.Float32).view(1, 2, 1, 2); // heads [0,1] and [2,3]
        using var r = LlamaAttention.RepeatKv(kv, 2);
        Assert.Equal([1L, 4, 1, 2], r.shape);
        Assert.Equal([0f, 1, 0, 1, 2, 3, 2, 3], r.data<float>().ToArray());
    }

    [Theory]
    [InlineData(5, 0, false, 2)] // training: causal, no mask
    [InlineData(1, 6, false, 2)] // decoding one token after six cached ones
    [InlineData(3, 4, true, 2)]  // a chunk after a cache, with padding: additive mask
    [InlineData(5, 0, true, 4)]
    [InlineData(5, 0, false, 1)] // no grouping
    public void GroupedAttention_EqualsAttentionOverRepeatedKeyHeads(int seq, int past, bool padded, int groups)
    {
        using var scope = NewDisposeScope();
        const int batch = 2, kvHeads = 2, d = 4;
        var generator = new Generator(3);
        var q = randn([batch, kvHeads * groups, seq, d], generator: generator, dtype: ScalarType.Float64);
        var k = randn([batch, kvHeads, past + seq, d], generator: generator, dtype: ScalarType.Float64);
        var v = randn([batch, kvHeads, past + seq, d], generator: generator, dtype: ScalarType.Float64);
        Tensor? keyMask = padded ? ones(batch, past + seq, ScalarType.Int64).index_put_(tensor(0L), tensor(0L), tensor(0L)) : null;
        bool causal = seq > 1;
        var mask = keyMask is not null || (causal && past > 0) ? AttentionMask.Build(keyMask, batch, seq, past, null, ScalarType.Float64, CPU) : null;

        var expected = nn.functional.scaled_dot_product_attention(q, LlamaAttention.RepeatKv(k, groups), LlamaAttention.RepeatKv(v, groups), mask, 0.0, mask is null && causal);
        var actual = LlamaAttention.GroupedAttention(q, k, v, mask, causal);

        Assert.Equal(expected.shape, actual.shape);
        Assert.True((expected - actual).abs().max().item<double>() < 1e-12);
    }

    [Fact]
    public void Rope_EqualsTheRotateHalfFormulaExactly()
    {
        using var scope = NewDisposeScope();
        var rope = new RotaryEmbedding(8, 10000, null);
        var (cos, signedSin) = rope.Compute(arange(6L).view(1, 6).expand(2, 6), ScalarType.Float32);
        // The reference's tables: angles = position * inv_freq, repeated for both halves.
        var freqs = arange(6L).to(ScalarType.Float32).unsqueeze(-1) * tensor(rope.InverseFrequencies.ToArray());
        var angles = cat([freqs, freqs], -1).view(1, 6, 1, 8);
        Assert.Equal(0f, (cos.unsqueeze(2) - angles.cos()).abs().max().item<float>());
        var x = randn([2, 6, 3, 8], generator: new Generator(5)); // [batch, seq, heads, head_dim]
        var rotated = cat([x.narrow(-1, 4, 4).neg(), x.narrow(-1, 0, 4)], -1);
        var expected = x * angles.cos() + rotated * angles.sin();
        Assert.Equal(0f, (RotaryEmbedding.Apply(x, cos, signedSin) - expected).abs().max().item<float>());
    }
}
