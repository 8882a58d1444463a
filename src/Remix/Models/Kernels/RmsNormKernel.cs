using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Remix.Runtime;
using static Remix.Models.Kernels.CpuKernels;
using static TorchSharp.torch;

namespace Remix.Models.Kernels;

/// <summary>
/// The norm over float32 rows on AVX-512, each pass reading a row once: forward y = w ⊙ x·r with
/// r = (‖x‖²/d + eps)^-½; backward ∂x = r · (g ⊙ w − x·r · (g·w·x)·r/d) and ∂w = Σ_rows g ⊙ x·r, the latter
/// summed per block of rows and then over the blocks in order, so that it does not depend on the thread count.
/// </summary>
internal static unsafe class RmsNormKernel
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
