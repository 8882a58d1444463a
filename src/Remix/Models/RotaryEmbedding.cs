using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// Rotary position embedding in the Hugging Face rotate-half layout: the first and second halves
/// of each head form the rotated pairs. Inverse frequencies follow <c>rope_theta</c> and
/// <c>rope_scaling</c> (linear or llama3), computed in float32 with the reference's operation order
/// so that cos/sin match it bit for bit.
/// </summary>
public sealed class RotaryEmbedding
{
    readonly float[] _inverseFrequencies;

    public RotaryEmbedding(int headDim, double theta, RopeScaling? scaling)
    {
        _inverseFrequencies = ComputeInverseFrequencies(headDim, theta, scaling);
    }

    /// <summary>The head_dim / 2 inverse frequencies.</summary>
    public IReadOnlyList<float> InverseFrequencies => _inverseFrequencies;

    /// <summary>inv_freq[i] = 1 / theta^(2i / dim), then scaled as <paramref name="scaling"/> says.</summary>
    public static float[] ComputeInverseFrequencies(int headDim, double theta, RopeScaling? scaling)
    {
        using var scope = NewDisposeScope();
        var exponents = arange(0, headDim, 2, ScalarType.Int64).to(ScalarType.Float32) / headDim;
        // Python's `scalar / tensor` is reciprocal(tensor) * scalar; written the same way to match it bit for bit.
        var invFreq = tensor((float)theta).pow(exponents).reciprocal();
        if (scaling is { Type: "linear" }) invFreq = invFreq / scaling.Factor;
        if (scaling is { Type: "llama3" } s)
        {
            double lowFreqWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
            double highFreqWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
            var wavelen = invFreq.reciprocal() * (2 * Math.PI);
            var scaled = where(wavelen > lowFreqWavelen, invFreq / s.Factor, invFreq);
            var smooth = (wavelen.reciprocal() * s.OriginalMaxPositionEmbeddings - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            var smoothed = (1 - smooth) * scaled / s.Factor + smooth * scaled;
            var medium = (wavelen < highFreqWavelen).logical_not().logical_and((wavelen > lowFreqWavelen).logical_not());
            invFreq = where(medium, smoothed, scaled);
        }
        return invFreq.data<float>().ToArray();
    }

    /// <summary>
    /// The tables <see cref="Apply"/> takes for [batch, seq] positions, each [batch, seq, head_dim] in
    /// <paramref name="dtype"/>: cos, and sin with its first half negated (−sin₁, sin₂), so that the
    /// rotation needs no negation per layer.
    /// </summary>
    public (Tensor Cos, Tensor SignedSin) Compute(Tensor positionIds, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var invFreq = tensor(_inverseFrequencies, device: positionIds.device);
        var freqs = positionIds.to(ScalarType.Float32).unsqueeze(-1) * invFreq; // [batch, seq, dim/2]
        var (cos, sin) = (freqs.cos(), freqs.sin()); // each frequency serves both halves of the head
        cos = cat([cos, cos], -1).to(dtype);
        var signedSin = cat([sin.neg(), sin], -1).to(dtype);
        return (cos.MoveToOuterDisposeScope(), signedSin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Rotates x of [batch, seq, heads, head_dim] (the projection's own layout, so every pass runs over
    /// contiguous memory) by the tables of <see cref="Compute"/>: x·cos + rotate_half(x)·sin, computed as
    /// x·cos + roll(x, half)·(−sin₁, sin₂) — the same products (−a·b = a·(−b) exactly), one copy of x
    /// instead of a negation and a concatenation, and the same for the gradient.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor signedSin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        return (x * cos.unsqueeze(2) + x.roll(half, -1) * signedSin.unsqueeze(2)).MoveToOuterDisposeScope();
    }
}
