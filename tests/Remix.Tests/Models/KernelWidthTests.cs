using Remix.Models.Kernels;
using Remix.Models;
using static TorchSharp.torch;

namespace Remix.Tests.Models;

/// <summary>
/// Each CPU kernel instantiated at each vector width in this process, whatever width the process itself runs (one the
/// CPU lacks is emulated by .NET: right, but slow, hence the small inputs): against float64, against the other widths,
/// and at 1 and 3 threads.
/// </summary>
[Collection(Support.ThreadCountCollection.Name)]
public class KernelWidthTests
{
    static readonly int[] Bits = [128, 256, 512];

    public static TheoryData<int> Widths => new(Bits);

    static Tensor Attention(int bits, Tensor q, Tensor k, Tensor v, Tensor cos, Tensor signedSin) => bits switch
    {
        128 => CpuCausalAttention.Apply<FloatVector128>(q, k, v, cos, signedSin),
        256 => CpuCausalAttention.Apply<FloatVector256>(q, k, v, cos, signedSin),
        _ => CpuCausalAttention.Apply<FloatVector512>(q, k, v, cos, signedSin),
    };

    static Tensor SwiGluProduct(int bits, Tensor gate, Tensor up) => bits switch
    {
        128 => SwiGlu.Apply<FloatVector128>(gate, up),
        256 => SwiGlu.Apply<FloatVector256>(gate, up),
        _ => SwiGlu.Apply<FloatVector512>(gate, up),
    };

    static (Tensor Output, Tensor InputGrad, Tensor WeightGrad) RmsNorm(int bits, Tensor x, Tensor weight, Tensor grad)
    {
        var (y, r) = bits switch
        {
            128 => RmsNormKernel.Forward<FloatVector128>(x, weight, 1e-5),
            256 => RmsNormKernel.Forward<FloatVector256>(x, weight, 1e-5),
            _ => RmsNormKernel.Forward<FloatVector512>(x, weight, 1e-5),
        };
        var (dx, dw) = bits switch
        {
            128 => RmsNormKernel.Backward<FloatVector128>(x, r, weight, grad),
            256 => RmsNormKernel.Backward<FloatVector256>(x, r, weight, grad),
            _ => RmsNormKernel.Backward<FloatVector512>(x, r, weight, grad),
        };
        return (y, dx, dw);
    }

    /// <summary>Runs <paramref name="run"/> at 1 and at 3 threads; the two runs' tensors.</summary>
    static (Tensor[] One, Tensor[] Three) AtOneAndThreeThreads(Func<Tensor[]> run)
    {
        int threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = run();
            set_num_threads(3);
            return (one, run());
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    static void AssertEqualBitForBit(Tensor[] a, Tensor[] b)
    {
        for (int i = 0; i < a.Length; i++) Assert.True(a[i].equal(b[i]).all().item<bool>(), $"tensor {i} differs between 1 and 3 threads");
    }

    static double MaxDifference(Tensor a, Tensor b) => (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();

    static Tensor[] AttentionAndGradients(int bits, int seed)
    {
        var generator = new Generator((ulong)seed);
        var positions = arange(21, ScalarType.Int64).unsqueeze(0) + arange(2, ScalarType.Int64).unsqueeze(1) * 5;
        var (cos, signedSin) = new RotaryEmbedding(16, 10000, null).Compute(positions, ScalarType.Float32);
        var q = randn([2, 21, 4, 16], generator: generator).requires_grad_(); // 21 rows: not whole vectors at any width
        var k = randn([2, 21, 2, 16], generator: generator).requires_grad_();
        var v = randn([2, 21, 2, 16], generator: generator).requires_grad_();
        var gradOutput = randn([2, 21, 4, 16], generator: generator);
        var output = Attention(bits, q, k, v, cos, signedSin);
        output.backward([gradOutput]);
        return [output.detach(), q.grad!, k.grad!, v.grad!, q.detach(), k.detach(), v.detach(), cos, signedSin, gradOutput];
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Attention_AtEachWidth_EqualsFloat64_AndDoesNotDependOnTheThreadCount(int bits)
    {
        using var scope = NewDisposeScope();
        var (one, three) = AtOneAndThreeThreads(() => AttentionAndGradients(bits, seed: 4));
        AssertEqualBitForBit(one[..4], three[..4]);

        var (q, k, v, cos, signedSin) = (one[4].to(ScalarType.Float64).requires_grad_(), one[5].to(ScalarType.Float64).requires_grad_(),
            one[6].to(ScalarType.Float64).requires_grad_(), one[7].to(ScalarType.Float64), one[8].to(ScalarType.Float64));
        var qr = RotaryEmbedding.Apply(q, cos, signedSin).transpose(1, 2);
        var kr = LlamaAttention.RepeatKv(RotaryEmbedding.Apply(k, cos, signedSin).transpose(1, 2), 2);
        var expected = nn.functional.scaled_dot_product_attention(qr, kr, LlamaAttention.RepeatKv(v.transpose(1, 2), 2), null, 0.0, true).transpose(1, 2);
        expected.backward([one[9].to(ScalarType.Float64)]);

        Assert.True(MaxDifference(one[0], expected) < 2e-6);
        Assert.True(MaxDifference(one[1], q.grad!) < 2e-5);
        Assert.True(MaxDifference(one[2], k.grad!) < 2e-5);
        Assert.True(MaxDifference(one[3], v.grad!) < 2e-5);
    }

    [Fact]
    public void Attention_TheThreeWidths_AgreeWithinFloat32Rounding()
    {
        using var scope = NewDisposeScope();
        var runs = Bits.Select(w => AttentionAndGradients(w, seed: 6)).ToArray();
        for (int i = 0; i < 4; i++)
        {
            Assert.True(MaxDifference(runs[0][i], runs[2][i]) < 1e-5, $"tensor {i}: 128 vs 512 bits");
            Assert.True(MaxDifference(runs[1][i], runs[2][i]) < 1e-5, $"tensor {i}: 256 vs 512 bits");
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void SwiGlu_AtEachWidth_EqualsFloat64_AndDoesNotDependOnTheThreadCount(int bits)
    {
        using var scope = NewDisposeScope();
        var (one, three) = AtOneAndThreeThreads(() =>
        {
            var generator = new Generator(12);
            var gate = (randn([3, 37], generator: generator) * 4).requires_grad_(); // 111 floats: a scalar tail at every width
            var up = randn([3, 37], generator: generator).requires_grad_();
            var gradProduct = randn([3, 37], generator: generator);
            var product = SwiGluProduct(bits, gate, up);
            product.backward([gradProduct]);
            return [product.detach(), gate.grad!, up.grad!, gate.detach(), up.detach(), gradProduct];
        });
        AssertEqualBitForBit(one[..3], three[..3]);

        var gate64 = one[3].to(ScalarType.Float64).requires_grad_();
        var up64 = one[4].to(ScalarType.Float64).requires_grad_();
        var expected = nn.functional.silu(gate64) * up64;
        expected.backward([one[5].to(ScalarType.Float64)]);
        Assert.True(MaxDifference(one[0], expected) < 1e-5);
        Assert.True(MaxDifference(one[1], gate64.grad!) < 1e-5);
        Assert.True(MaxDifference(one[2], up64.grad!) < 1e-5);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void RmsNorm_AtEachWidth_EqualsFloat64_AndDoesNotDependOnTheThreadCount(int bits)
    {
        using var scope = NewDisposeScope();
        var weight = linspace(0.5, 2, 48, ScalarType.Float32); // whole vectors at every width
        var generator = new Generator(7);
        var x = randn([70, 48], generator: generator) * 3; // 70 rows: two whole blocks of 32 and a part
        var grad = randn([70, 48], generator: generator);
        var (one, three) = AtOneAndThreeThreads(() =>
        {
            var (y, dx, dw) = RmsNorm(bits, x, weight, grad);
            return [y, dx, dw];
        });
        AssertEqualBitForBit(one, three);

        var x64 = x.to(ScalarType.Float64).requires_grad_();
        var w64 = weight.to(ScalarType.Float64).requires_grad_();
        var expected = w64 * x64 * rsqrt(x64.pow(2).mean([-1L], keepdim: true) + 1e-5);
        expected.backward([grad.to(ScalarType.Float64)]);
        Assert.True(MaxDifference(one[0], expected) < 1e-5);
        Assert.True(MaxDifference(one[1], x64.grad!) < 1e-5);
        Assert.True(MaxDifference(one[2], w64.grad!) < 1e-4);
    }

    [Fact]
    public void SwiGluAndRmsNorm_TheThreeWidths_AgreeWithinFloat32Rounding()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(9);
        var (gate, up) = (randn([5, 24], generator: generator) * 4, randn([5, 24], generator: generator));
        var (x, grad, weight) = (randn([40, 32], generator: generator), randn([40, 32], generator: generator), linspace(0.5, 2, 32, ScalarType.Float32));
        var products = Bits.Select(w => SwiGluProduct(w, gate, up)).ToArray();
        var norms = Bits.Select(w => RmsNorm(w, x, weight, grad)).ToArray();
        for (int w = 0; w < 2; w++)
        {
            Assert.True(MaxDifference(products[w], products[2]) < 1e-5);
            Assert.True(MaxDifference(norms[w].Output, norms[2].Output) < 1e-5);
            Assert.True(MaxDifference(norms[w].InputGrad, norms[2].InputGrad) < 1e-5);
            Assert.True(MaxDifference(norms[w].WeightGrad, norms[2].WeightGrad) < 1e-4);
        }
    }

    static void AdamWUpdate(int bits, Tensor value, Tensor grad, Tensor m, Tensor v, AdamWKernel.Constants c)
    {
        switch (bits)
        {
            case 128: AdamWKernel.Update<FloatVector128>(value, grad, m, v, c); break;
            case 256: AdamWKernel.Update<FloatVector256>(value, grad, m, v, c); break;
            default: AdamWKernel.Update<FloatVector512>(value, grad, m, v, c); break;
        }
    }

    static unsafe void Rotate(int bits, float* from, float* to, float* cos, float* signedSin, int d)
    {
        switch (bits)
        {
            case 128: CpuKernels.Rotate<FloatVector128>(from, to, cos, signedSin, d); break;
            case 256: CpuKernels.Rotate<FloatVector256>(from, to, cos, signedSin, d); break;
            default: CpuKernels.Rotate<FloatVector512>(from, to, cos, signedSin, d); break;
        }
    }

    static unsafe void RotateBack(int bits, float* row, float* cos, float* signedSin, int d)
    {
        switch (bits)
        {
            case 128: CpuKernels.RotateBack<FloatVector128>(row, cos, signedSin, d); break;
            case 256: CpuKernels.RotateBack<FloatVector256>(row, cos, signedSin, d); break;
            default: CpuKernels.RotateBack<FloatVector512>(row, cos, signedSin, d); break;
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(6)] // half a row is less than a vector at every width: the scalar tail alone
    [InlineData(8)]
    [InlineData(12)]
    [InlineData(32)]
    [InlineData(40)] // half a row is a 256-bit vector and a 128-bit one, not a 512-bit one
    [InlineData(128)]
    public unsafe void Rope_AtEachWidth_GivesTheScalarLoopsBits_ForwardBackAndInPlace(int d)
    {
        var random = new Random(d);
        float[] Values() => [.. Enumerable.Range(0, d).Select(_ => (float)(random.NextDouble() * 4 - 2))];
        float[] x = Values(), cos = Values(), signedSin = Values();
        int half = d / 2;
        // The rule written out one element at a time: out[y] = x[y]·cos[y] + x[ȳ]·signedSin[y], and its transpose
        // back[y] = x[y]·cos[y] + x[ȳ]·signedSin[ȳ], ȳ = (y + d/2) mod d; two products and a sum, as RotaryEmbedding.Apply.
        var expected = new float[d];
        var expectedBack = new float[d];
        for (int y = 0; y < d; y++)
        {
            int other = (y + half) % d;
            expected[y] = x[y] * cos[y] + x[other] * signedSin[y];
            expectedBack[y] = x[y] * cos[y] + x[other] * signedSin[other];
        }
        foreach (int bits in Bits)
        {
            var output = new float[d];
            var inPlace = (float[])x.Clone();
            var back = (float[])x.Clone();
            fixed (float* px = x, po = output, pi = inPlace, pb = back, pc = cos, ps = signedSin)
            {
                Rotate(bits, px, po, pc, ps, d);
                Rotate(bits, pi, pi, pc, ps, d);
                RotateBack(bits, pb, pc, ps, d);
            }
            Assert.Equal(expected, output);
            Assert.Equal(expected, inPlace);
            Assert.Equal(expectedBack, back);
        }
    }

    [Fact]
    public void AdamW_TheThreeWidthsAndThreadCounts_GiveTheSameBits_AndFloat64sRule()
    {
        // 40,003 elements: several work items and a scalar tail at every width; every operation is per element and IEEE.
        using var scope = NewDisposeScope();
        var generator = new Generator(5);
        var (value0, m0, v0) = (randn([40_003], generator: generator), randn([40_003], generator: generator) * 0.1, rand([40_003], generator: generator) * 0.01);
        var grad = randn([40_003], generator: generator);
        var c = new AdamWKernel.Constants(GradientScale: 0.5f, Decay: 0.999f, OneMinusBeta1: 0.1f, Beta2: 0.95f, OneMinusBeta2: 0.05f, BiasCorrection2Sqrt: 0.3f, Eps: 1e-8f, StepSize: 0.02f);
        var results = new List<Tensor[]>();
        foreach (int bits in Bits)
        {
            var (one, three) = AtOneAndThreeThreads(() =>
            {
                var (value, m, v) = (value0.clone(), m0.clone(), v0.clone());
                AdamWUpdate(bits, value, grad, m, v, c);
                return [value, m, v];
            });
            for (int i = 0; i < 3; i++) Assert.True(one[i].eq(three[i]).all().item<bool>(), $"{bits} bits: 1 and 3 threads differ");
            results.Add(one);
        }
        for (int w = 1; w < results.Count; w++)
            for (int i = 0; i < 3; i++) Assert.True(results[w][i].eq(results[0][i]).all().item<bool>(), $"{Bits[w]} bits differ from 128");

        // The rule in float64, from the same float32 inputs.
        var (g, p, mm, vv) = (grad.to(ScalarType.Float64) * 0.5, value0.to(ScalarType.Float64), m0.to(ScalarType.Float64), v0.to(ScalarType.Float64));
        var mean = mm + 0.1 * (g - mm);
        var square = vv * 0.95 + 0.05 * g * g;
        var expected = p * 0.999 - 0.02 * mean / (square.sqrt() / 0.3 + 1e-8);
        Assert.True(MaxDifference(results[0][1], mean) < 1e-6);
        Assert.True(MaxDifference(results[0][2], square) < 1e-6);
        Assert.True(MaxDifference(results[0][0], expected) < 2e-6);
    }
}
