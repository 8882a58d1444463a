using Remix.Models.Kernels;
using Remix.Runtime;
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
/// operations in the same order either way. For float32 on CPUs with vector instructions, unless the model was built with <see cref="KernelChoice.Reference"/>, the function's forward and
/// backward are each one pass over the rows (<see cref="RmsNormKernel"/>), keeping the input and each row's
/// reciprocal root instead of the normalised copy.
/// </remarks>
public sealed class RMSNorm : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "weight")]
    readonly Parameter _weight;

    readonly double _eps;
    readonly bool _cpuKernels;

    /// <summary>A norm of unit weights; under <see cref="KernelChoice.Auto"/> it runs on <see cref="RmsNormKernel"/> where that applies.</summary>
    public RMSNorm(long dim, double eps, Device device, ScalarType dtype, KernelChoice kernels = KernelChoice.Auto) : base(nameof(RMSNorm))
    {
        _weight = new Parameter(ones([dim], dtype, device));
        _eps = eps;
        _cpuKernels = KernelChoices.UsesCpuKernels(kernels);
        RegisterComponents();
    }

    public Parameter Weight => _weight;

    public Tensor Forward(Tensor x)
    {
        if (is_grad_enabled() && (x.requires_grad || _weight.requires_grad)) return Function.apply(x, _weight, _eps, _cpuKernels);
        using var scope = NewDisposeScope();
        if (_cpuKernels && RmsNormKernel.Supports(x, _weight)) return RmsNormKernel.Forward(x, _weight, _eps).Output.MoveToOuterDisposeScope();
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
            var (x, weight, eps, cpuKernels) = ((Tensor)vars[0], (Tensor)vars[1], (double)vars[2], (bool)vars[3]);
            // Kept here rather than as autograd saved variables and freed at the end of backward: what a
            // TorchSharp custom node holds is released only when the .NET GC finalizes the node.
            if (cpuKernels && RmsNormKernel.Supports(x, weight))
            {
                var (output, reciprocals) = RmsNormKernel.Forward(x, weight, eps);
                ctx.save_data(nameof(Saved), new Saved(x.detach().DetachFromDisposeScope(), reciprocals.DetachFromDisposeScope(), weight, x.requires_grad, x.dtype, Fused: true));
                return output;
            }
            var (normed, reciprocal) = Normalize(x, eps);
            ctx.save_data(nameof(Saved), new Saved(normed.DetachFromDisposeScope(), reciprocal.DetachFromDisposeScope(), weight, x.requires_grad, x.dtype, Fused: false));
            return weight * normed.to(x.dtype);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            using var scope = NewDisposeScope();
            var (saved, reciprocal, weight, inputNeedsGrad, inputType, fused) = (Saved)ctx.get_data(nameof(Saved));
            Tensor? inputGrad = null, weightGrad = null;
            using (saved)
            using (reciprocal)
            {
                if (fused)
                {
                    var (dx, dw) = RmsNormKernel.Backward(saved, reciprocal, weight, grad.contiguous());
                    return [inputNeedsGrad ? dx.MoveToOuterDisposeScope() : null!, weight.requires_grad ? dw.MoveToOuterDisposeScope() : null!, null!, null!];
                }
                var normed = saved;
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
            return [inputGrad!, weightGrad!, null!, null!];
        }

        /// <summary>The normalised input (or, <paramref name="Fused"/>, the input itself) and the reciprocal roots.</summary>
        sealed record Saved(Tensor Activations, Tensor Reciprocal, Tensor Weight, bool InputNeedsGrad, ScalarType InputType, bool Fused);
    }
}
