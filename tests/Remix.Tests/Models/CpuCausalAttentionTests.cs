using System.Runtime.Intrinsics;
using Remix.Models.Kernels;
using Remix.Models;
using static TorchSharp.torch;

namespace Remix.Tests.Models;

[Collection(Support.ThreadCountCollection.Name)]
public class CpuCausalAttentionTests
{
    /// <summary>
    /// q [batch, seq, heads, d], k and v [batch, seq, kv_heads, d], float32, needing gradients; rotary tables for positions
    /// that start at a different offset in each sequence.
    /// </summary>
    static (Tensor Q, Tensor K, Tensor V, Tensor Cos, Tensor SignedSin, Tensor GradOutput) Inputs(int batch, int seq, int heads, int kvHeads, int d, int seed)
    {
        var generator = new Generator((ulong)seed);
        var positions = arange(seq, ScalarType.Int64).unsqueeze(0) + arange(batch, ScalarType.Int64).unsqueeze(1) * 5;
        var (cos, signedSin) = new RotaryEmbedding(d, 10000, null).Compute(positions, ScalarType.Float32);
        return (randn([batch, seq, heads, d], generator: generator).requires_grad_(),
            randn([batch, seq, kvHeads, d], generator: generator).requires_grad_(),
            randn([batch, seq, kvHeads, d], generator: generator).requires_grad_(),
            cos, signedSin,
            randn([batch, seq, heads, d], generator: generator));
    }

    /// <summary>
    /// The same by libtorch in float64: the model's rotary embedding, then attention over the usual [batch, heads, seq, d]
    /// layout with repeated kv heads.
    /// </summary>
    static Tensor Reference(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor signedSin)
    {
        int groups = (int)(q.shape[2] / k.shape[2]);
        var (cos64, sin64) = (cos.to(ScalarType.Float64), signedSin.to(ScalarType.Float64));
        var q64 = RotaryEmbedding.Apply(q.to(ScalarType.Float64), cos64, sin64).transpose(1, 2);
        var k64 = LlamaAttention.RepeatKv(RotaryEmbedding.Apply(k.to(ScalarType.Float64), cos64, sin64).transpose(1, 2), groups);
        var v64 = LlamaAttention.RepeatKv(v.to(ScalarType.Float64).transpose(1, 2), groups);
        return nn.functional.scaled_dot_product_attention(q64, k64, v64, null, 0.0, q.shape[1] > 1).transpose(1, 2);
    }

    [Theory]
    [InlineData(2, 37, 4, 2, 16)]  // rows not a multiple of 4, keys not a multiple of 16
    [InlineData(1, 130, 8, 2, 64)] // groups of 4, head_dim 64
    [InlineData(3, 20, 2, 2, 32)]  // one query head per kv head
    [InlineData(2, 1, 2, 1, 16)]   // a single position
    public void ForwardAndGradients_EqualRotaryEmbeddingThenLibtorchAttention(int batch, int seq, int heads, int kvHeads, int d)
    {
        using var scope = NewDisposeScope();
        var (q, k, v, cos, signedSin, gradOutput) = Inputs(batch, seq, heads, kvHeads, d, seed: seq);
        Assert.Equal(CpuKernels.Accelerated, CpuCausalAttention.Supports(q, k, v, cos, signedSin));

        var actual = CpuCausalAttention.Apply(q, k, v, cos, signedSin);
        actual.backward([gradOutput]);
        var (dq, dk, dv) = (q.grad!.clone(), k.grad!.clone(), v.grad!.clone());
        foreach (var t in new[] { q, k, v }) t.grad!.zero_();
        var expected = Reference(q, k, v, cos, signedSin);
        expected.backward([gradOutput.to(ScalarType.Float64)]);

        Assert.Equal(new long[] { batch, seq, heads, d }, actual.shape);
        Assert.True((actual.to(ScalarType.Float64) - expected).abs().max().item<double>() < 2e-6);
        Assert.True((dq - q.grad!).abs().max().item<float>() < 2e-5);
        Assert.True((dk - k.grad!).abs().max().item<float>() < 2e-5);
        Assert.True((dv - v.grad!).abs().max().item<float>() < 2e-5);
    }

    [Fact]
    public void WithoutGradients_GivesTheSameOutput()
    {
        using var scope = NewDisposeScope();
        var (q, k, v, cos, signedSin, _) = Inputs(2, 19, 4, 2, 32, seed: 5);
        var withGradients = CpuCausalAttention.Apply(q, k, v, cos, signedSin);
        using (no_grad())
        {
            var without = CpuCausalAttention.Apply(q, k, v, cos, signedSin);
            Assert.False(without.requires_grad);
            Assert.True(without.equal(withGradients.detach()).all().item<bool>());
        }
    }

    [Fact]
    public void Results_DoNotDependOnTheThreadCount()
    {
        using var scope = NewDisposeScope();
        int threads = get_num_threads();
        var runs = new List<Tensor[]>();
        try
        {
            foreach (int count in new[] { 1, 3 })
            {
                set_num_threads(count);
                var (q, k, v, cos, signedSin, gradOutput) = Inputs(3, 45, 4, 2, 32, seed: 11);
                var output = CpuCausalAttention.Apply(q, k, v, cos, signedSin);
                output.backward([gradOutput]);
                runs.Add([output.detach(), q.grad!, k.grad!, v.grad!]);
            }
        }
        finally
        {
            set_num_threads(threads);
        }
        for (int i = 0; i < 4; i++) Assert.True(runs[0][i].equal(runs[1][i]).all().item<bool>(), $"tensor {i} differs");
    }

    [Fact]
    public void Supports_OnlyContiguousFloat32WithWholeVectorHeads()
    {
        using var scope = NewDisposeScope();
        var q = zeros(1, 8, 4, 32);
        var kv = zeros(1, 8, 2, 32);
        var table = zeros(1, 8, 32);
        Assert.Equal(CpuKernels.Accelerated, CpuCausalAttention.Supports(q, kv, kv, table, table));
        Assert.False(CpuCausalAttention.Supports(q.to(ScalarType.Float64), kv.to(ScalarType.Float64), kv.to(ScalarType.Float64), table, table));
        Assert.False(CpuCausalAttention.Supports(zeros(1, 8, 4, 18), zeros(1, 8, 2, 18), zeros(1, 8, 2, 18), zeros(1, 8, 18), zeros(1, 8, 18))); // no width divides 18
        Assert.Equal(CpuKernels.Accelerated && CpuKernels.VectorBits < 512, // 24: three vectors of 8, six of 4, not whole vectors of 16
            CpuCausalAttention.Supports(zeros(1, 8, 4, 24), zeros(1, 8, 2, 24), zeros(1, 8, 2, 24), zeros(1, 8, 24), zeros(1, 8, 24)));
        Assert.False(CpuCausalAttention.Supports(zeros(1, 4, 8, 32).transpose(1, 2), kv, kv, table, table));
        Assert.False(CpuCausalAttention.Supports(zeros(1, 8, 3, 32), kv, kv, table, table)); // 3 heads over 2 kv heads
        Assert.False(CpuCausalAttention.Supports(q, kv, kv, zeros(1, 7, 32), zeros(1, 7, 32))); // tables for another length
    }
}
