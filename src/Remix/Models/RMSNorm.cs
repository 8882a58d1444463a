using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Remix.Models.Kernels;
using Remix.Runtime;
using TorchSharp.Modules;
using static Remix.Models.Kernels.CpuKernels;
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
/// operations in the same order either way. For float32 on CPUs with AVX-512, unless the model was built with <see cref="KernelChoice.Reference"/>, the function's forward and
/// backward are each one pass over the rows (<see cref="Kernel"/>), keeping the input and each row's
/// reciprocal root instead of the normalised copy.
/// </remarks>
public sealed class RMSNorm : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "weight")]
    readonly Parameter _weight;

    readonly double _eps;
    readonly bool _cpuKernels;

    /// <summary>A norm of unit weights; under <see cref="KernelChoice.Auto"/> it runs on <see cref="Kernel"/> where that applies.</summary>
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
        if (_cpuKernels && Kernel.Supports(x, _weight)) return Kernel.Forward(x, _weight, _eps).Output.MoveToOuterDisposeScope();
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
            if (cpuKernels && Kernel.Supports(x, weight))
            {
                var (output, reciprocals) = Kernel.Forward(x, weight, eps);
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
                    var (dx, dw) = Kernel.Backward(saved, reciprocal, weight, grad.contiguous());
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

    /// <summary>
    /// The norm over float32 rows on AVX-512, each pass reading a row once: forward y = w ⊙ x·r with
    /// r = (‖x‖²/d + eps)^-½; backward ∂x = r · (g ⊙ w − x·r · (g·w·x)·r/d) and ∂w = Σ_rows g ⊙ x·r, the latter
    /// summed per block of rows and then over the blocks in order, so that it does not depend on the thread count.
    /// </summary>
    internal static unsafe class Kernel
    {
        const int RowsPerItem = 32;

        public static bool Supports(Tensor x, Tensor weight) =>
            Vector512.IsHardwareAccelerated && IsPlainCpuFloat32(x) && IsPlainCpuFloat32(weight)
            && weight.dim() == 1 && x.shape[^1] == weight.shape[0] && weight.shape[0] % Lanes == 0;

        public static (Tensor Output, Tensor Reciprocals) Forward(Tensor x, Tensor weight, double eps)
        {
            int d = (int)weight.shape[0];
            long rows = x.numel() / d;
            var output = empty_like(x);
            var reciprocals = empty([rows], ScalarType.Float32, x.device);
            float* xp = Pointer(x), wp = Pointer(weight), yp = Pointer(output), rp = Pointer(reciprocals);
            float epsilon = (float)eps;
            IntraOpParallel.ForBlocks(rows, RowsPerItem, (_, start, end) =>
            {
                for (long row = start; row < end; row++) rp[row] = ForwardRow(xp + row * d, wp, yp + row * d, d, epsilon);
            });
            return (output, reciprocals);
        }

        public static (Tensor InputGrad, Tensor WeightGrad) Backward(Tensor x, Tensor reciprocals, Tensor weight, Tensor grad)
        {
            int d = (int)weight.shape[0];
            long rows = x.numel() / d, items = (rows + RowsPerItem - 1) / RowsPerItem;
            var inputGrad = empty_like(x);
            var partials = empty([items, d], ScalarType.Float32, x.device); // ∂w of each block of rows
            float* xp = Pointer(x), rp = Pointer(reciprocals), wp = Pointer(weight), gp = Pointer(grad), dxp = Pointer(inputGrad), pp = Pointer(partials);
            IntraOpParallel.ForBlocks(rows, RowsPerItem, (item, start, end) =>
            {
                float* partial = pp + item * d;
                new Span<float>(partial, d).Clear();
                for (long row = start; row < end; row++) BackwardRow(xp + row * d, gp + row * d, wp, rp[row], dxp + row * d, partial, d);
            });
            return (inputGrad, partials.sum([0L]));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static float ForwardRow(float* x, float* w, float* y, int d, float eps)
        {
            var squares = Vector512<float>.Zero;
            for (int i = 0; i < d; i += Lanes)
            {
                var v = Vector512.Load(x + i);
                squares = Vector512.FusedMultiplyAdd(v, v, squares);
            }
            float r = 1f / MathF.Sqrt(Vector512.Sum(squares) / d + eps);
            var rv = Vector512.Create(r);
            for (int i = 0; i < d; i += Lanes) (Vector512.Load(w + i) * (Vector512.Load(x + i) * rv)).Store(y + i);
            return r;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static void BackwardRow(float* x, float* g, float* w, float r, float* dx, float* dw, int d)
        {
            var dot = Vector512<float>.Zero; // Σ g·w·x
            for (int i = 0; i < d; i += Lanes)
                dot = Vector512.FusedMultiplyAdd(Vector512.Load(g + i) * Vector512.Load(w + i), Vector512.Load(x + i), dot);
            var rv = Vector512.Create(r);
            var mean = Vector512.Create(Vector512.Sum(dot) * r / d); // mean(g·w·n), with n = x·r
            for (int i = 0; i < d; i += Lanes)
            {
                var gv = Vector512.Load(g + i);
                var normed = Vector512.Load(x + i) * rv;
                ((gv * Vector512.Load(w + i) - normed * mean) * rv).Store(dx + i);
                Vector512.FusedMultiplyAdd(gv, normed, Vector512.Load(dw + i)).Store(dw + i);
            }
        }
    }
}
