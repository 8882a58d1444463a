using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// Root-mean-square layer norm as Llama computes it: normalise in float32, cast back to the input
/// dtype, then scale by <c>weight</c>.
/// </summary>
/// <remarks>
/// When a gradient is needed the norm runs as one autograd function with its backward written out
/// (<see cref="Function"/>): autograd through the six elementary operations costs about twice the
/// passes over the activations, and there are two norms per layer. The forward values are the same
/// operations in the same order either way.
/// </remarks>
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
        if (is_grad_enabled() && (x.requires_grad || _weight.requires_grad)) return Function.apply(x, _weight, _eps);
        using var scope = NewDisposeScope();
        var (normed, _) = Normalize(x, _eps);
        return (_weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>x / sqrt(mean(x²) + eps) in float32 (float64 stays float64), and the reciprocal root per row.</summary>
    /// <remarks>mean(x²) is taken as ‖x‖²/d: the norm is one reduction over x, where x² would be written out and read back.</remarks>
    static (Tensor Normed, Tensor Reciprocal) Normalize(Tensor x, double eps)
    {
        var x32 = x.dtype == ScalarType.Float64 ? x : x.to(ScalarType.Float32); // float64 stays float64 (gradient checks)
        var reciprocal = linalg.vector_norm(x32, 2, [-1L], keepdim: true).pow_(2).div_(x.shape[^1]).add_(eps).rsqrt_();
        return (x32 * reciprocal, reciprocal);
    }

    /// <summary>
    /// y = w ⊙ cast(n), n = x·r, r = (mean(x²) + eps)^-½. Backward, with b = g ⊙ cast(n):
    /// ∂w = Σ_rows b; ∂x = cast(r · (g ⊙ w − n · mean(g ⊙ w ⊙ n))), where mean(g ⊙ w ⊙ n) = (b · w) / d, a matrix-vector
    /// product over the b that ∂w needs anyway.
    /// </summary>
    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => nameof(RMSNorm);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (x, weight, eps) = ((Tensor)vars[0], (Tensor)vars[1], (double)vars[2]);
            var (normed, reciprocal) = Normalize(x, eps);
            // Kept here rather than as autograd saved variables and freed at the end of backward: what a
            // TorchSharp custom node holds is released only when the .NET GC finalizes the node.
            ctx.save_data(nameof(Saved), new Saved(normed.DetachFromDisposeScope(), reciprocal.DetachFromDisposeScope(), weight, x.requires_grad, x.dtype));
            return weight * normed.to(x.dtype);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            using var scope = NewDisposeScope();
            var (normed, reciprocal, weight, inputNeedsGrad, inputType) = (Saved)ctx.get_data(nameof(Saved));
            Tensor? inputGrad = null, weightGrad = null;
            using (normed)
            using (reciprocal)
            {
                var scaled = grad * normed.to(grad.dtype);
                if (weight.requires_grad) weightGrad = scaled.reshape(-1, scaled.shape[^1]).sum([0L]).MoveToOuterDisposeScope();
                if (inputNeedsGrad)
                {
                    var mean = scaled.to(normed.dtype).matmul(weight.to(normed.dtype)).unsqueeze(-1).div_(normed.shape[^1]);
                    var a = (grad * weight).to(normed.dtype);
                    a.addcmul_(normed, mean, -1).mul_(reciprocal);
                    inputGrad = a.to(inputType).MoveToOuterDisposeScope();
                }
            }
            return [inputGrad!, weightGrad!, null!];
        }

        sealed record Saved(Tensor Normed, Tensor Reciprocal, Tensor Weight, bool InputNeedsGrad, ScalarType InputType);
    }
}
