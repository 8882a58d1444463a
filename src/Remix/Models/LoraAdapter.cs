using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// A LoRA update of one projection: Δy = (alpha / rank) · x Aᵀ Bᵀ with A [rank, in] and B [out, rank].
/// A starts uniform in ±1/√in and B at zero (as PEFT initialises them), so the adapted model starts
/// equal to the base model.
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    public LoraAdapter(long inFeatures, long outFeatures, int rank, double alpha, Generator generator, Device device, ScalarType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        Rank = rank;
        Alpha = alpha;
        double bound = 1 / Math.Sqrt(inFeatures);
        using var a = empty([rank, inFeatures], ScalarType.Float32).uniform_(-bound, bound, generator);
        A = new Parameter(a.to(dtype, device));
        B = new Parameter(zeros([outFeatures, rank], dtype, device));
    }

    public int Rank { get; }
    public double Alpha { get; }
    public double Scaling => Alpha / Rank;

    /// <summary>[rank, in]</summary>
    public Parameter A { get; }

    /// <summary>[out, rank]</summary>
    public Parameter B { get; }

    public Tensor Apply(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (nn.functional.linear(nn.functional.linear(x, A), B) * Scaling).MoveToOuterDisposeScope();
    }

    /// <summary>The dense update scaling · B A ([out, in]) that merging adds to the weight.</summary>
    public Tensor Delta() => B.matmul(A) * Scaling;

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}
