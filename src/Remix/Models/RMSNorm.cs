using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// Root-mean-square layer norm as Llama computes it: normalise in float32, cast back to the input
/// dtype, then scale by <c>weight</c>.
/// </summary>
public sealed class RMSNorm : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "weight")]
    readonly Parameter _weight;

    readonly double _eps;

    public RMSNorm(long dim, double eps, Device device, ScalarType dtype) : base(nameof(RMSNorm))
    {
        _weight = new Parameter(ones([dim], dtype, device));
        _eps = eps;
        RegisterComponents();
    }

    public Parameter Weight => _weight;

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.dtype == ScalarType.Float64 ? x : x.to(ScalarType.Float32); // float64 stays float64 (gradient checks)
        var variance = x32.pow(2).mean([-1L], keepdim: true);
        var normed = x32 * rsqrt(variance + _eps);
        return (_weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
