using System.Runtime.CompilerServices;
using Remix.Runtime;
using static Remix.Models.Kernels.CpuKernels;
using static TorchSharp.torch;

namespace Remix.Models.Kernels;

/// <summary>
/// The norm over float32 rows on the CPU's vectors (any width, <see cref="IFloatVector{TSelf}"/>), each pass reading a row once: forward y = w ⊙ x·r with
/// r = (‖x‖²/d + eps)^-½; backward ∂x = r · (g ⊙ w − x·r · (g·w·x)·r/d) and ∂w = Σ_rows g ⊙ x·r, the latter
/// summed per block of rows and then over the blocks in order, so that it does not depend on the thread count.
/// </summary>
internal static unsafe class RmsNormKernel
{
    const int RowsPerItem = 32;

    /// <summary>Whether these tensors can take this kernel at this process's width: float32, contiguous, rows of whole vectors (no scalar tail).</summary>
    public static bool Supports(Tensor x, Tensor weight) =>
        Accelerated && IsPlainCpuFloat32(x) && IsPlainCpuFloat32(weight)
        && weight.dim() == 1 && x.shape[^1] == weight.shape[0] && weight.shape[0] % Lanes == 0;

    /// <summary>The normed rows and each row's reciprocal r, at this process's width.</summary>
    public static (Tensor Output, Tensor Reciprocals) Forward(Tensor x, Tensor weight, double eps) => VectorBits switch
    {
        512 => Forward<FloatVector512>(x, weight, eps),
        256 => Forward<FloatVector256>(x, weight, eps),
        _ => Forward<FloatVector128>(x, weight, eps),
    };

    /// <summary>∂x and ∂w, at this process's width.</summary>
    public static (Tensor InputGrad, Tensor WeightGrad) Backward(Tensor x, Tensor reciprocals, Tensor weight, Tensor grad) => VectorBits switch
    {
        512 => Backward<FloatVector512>(x, reciprocals, weight, grad),
        256 => Backward<FloatVector256>(x, reciprocals, weight, grad),
        _ => Backward<FloatVector128>(x, reciprocals, weight, grad),
    };

    /// <summary><see cref="Forward"/> at the width of <typeparamref name="V"/> (tests run each).</summary>
    public static (Tensor Output, Tensor Reciprocals) Forward<V>(Tensor x, Tensor weight, double eps) where V : unmanaged, IFloatVector<V>
    {
        int d = (int)weight.shape[0];
        long rows = x.numel() / d;
        var output = empty_like(x);
        var reciprocals = empty([rows], ScalarType.Float32, x.device);
        float* xp = Pointer(x), wp = Pointer(weight), yp = Pointer(output), rp = Pointer(reciprocals);
        float epsilon = (float)eps;
        IntraOpParallel.ForBlocks(rows, RowsPerItem, (_, start, end) =>
        {
            for (long row = start; row < end; row++) rp[row] = ForwardRow<V>(xp + row * d, wp, yp + row * d, d, epsilon);
        });
        return (output, reciprocals);
    }

    /// <summary><see cref="Backward"/> at the width of <typeparamref name="V"/> (tests run each).</summary>
    public static (Tensor InputGrad, Tensor WeightGrad) Backward<V>(Tensor x, Tensor reciprocals, Tensor weight, Tensor grad) where V : unmanaged, IFloatVector<V>
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
            for (long row = start; row < end; row++) BackwardRow<V>(xp + row * d, gp + row * d, wp, rp[row], dxp + row * d, partial, d);
        });
        return (inputGrad, partials.sum([0L]));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float ForwardRow<V>(float* x, float* w, float* y, int d, float eps) where V : unmanaged, IFloatVector<V>
    {
        var squares = V.Zero;
        for (int i = 0; i < d; i += V.Lanes)
        {
            var v = V.Load(x + i);
            squares = V.FusedMultiplyAdd(v, v, squares);
        }
        float r = 1f / MathF.Sqrt(V.Sum(squares) / d + eps);
        var rv = V.Create(r);
        for (int i = 0; i < d; i += V.Lanes) (V.Load(w + i) * (V.Load(x + i) * rv)).Store(y + i);
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void BackwardRow<V>(float* x, float* g, float* w, float r, float* dx, float* dw, int d) where V : unmanaged, IFloatVector<V>
    {
        var dot = V.Zero; // Σ g·w·x
        for (int i = 0; i < d; i += V.Lanes)
            dot = V.FusedMultiplyAdd(V.Load(g + i) * V.Load(w + i), V.Load(x + i), dot);
        var rv = V.Create(r);
        var mean = V.Create(V.Sum(dot) * r / d); // mean(g·w·n), with n = x·r
        for (int i = 0; i < d; i += V.Lanes)
        {
            var gv = V.Load(g + i);
            var normed = V.Load(x + i) * rv;
            ((gv * V.Load(w + i) - normed * mean) * rv).Store(dx + i);
            V.FusedMultiplyAdd(gv, normed, V.Load(dw + i)).Store(dw + i);
        }
    }
}
