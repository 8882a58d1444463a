using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// A LoRA update of one projection: Δy = (alpha / rank) · x Aᵀ Bᵀ with A [rank, in] and B [out, rank]
/// (alpha / √rank with rsLoRA). A starts uniform in ±1/√in and B at zero (as PEFT initialises them), so the
/// adapted model starts equal to the base model.
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

    /// <summary>An adapter with trained weights <paramref name="a"/> [rank, in] and <paramref name="b"/> [out, rank], which it takes over.</summary>
    public LoraAdapter(Tensor a, Tensor b, double alpha)
    {
        if (a.dim() != 2 || b.dim() != 2 || b.shape[1] != a.shape[0])
            throw new ArgumentException($"expected A [rank, in] and B [out, rank], found [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}]");
        Rank = (int)a.shape[0];
        Alpha = alpha;
        A = new Parameter(a);
        B = new Parameter(b);
    }

    public int Rank { get; }
    public double Alpha { get; }

    /// <summary>rsLoRA (PEFT's <c>use_rslora</c>): the update is scaled by alpha / √rank instead of alpha / rank.</summary>
    public bool RankStabilized { get; init; }

    public double Scaling => RankStabilized ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;

    /// <summary>[rank, in]</summary>
    public Parameter A { get; }

    /// <summary>[out, rank]</summary>
    public Parameter B { get; }

    public Tensor Apply(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (nn.functional.linear(nn.functional.linear(x, A), B) * Scaling).MoveToOuterDisposeScope();
    }

    /// <summary>The dense update scaling · B A ([out, in]) that merging adds to the weight, in float32 whatever the adapter's dtype.</summary>
    public Tensor Delta()
    {
        using var scope = NewDisposeScope();
        return B.to(ScalarType.Float32).matmul(A.to(ScalarType.Float32)).mul_(Scaling).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}
