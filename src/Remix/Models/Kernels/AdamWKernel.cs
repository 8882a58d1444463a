using System.Runtime.CompilerServices;
using Remix.Runtime;
using static Remix.Models.Kernels.CpuKernels;
using static TorchSharp.torch;

namespace Remix.Models.Kernels;

/// <summary>
/// AdamW's update of one float32 parameter in one pass over memory on the CPU's vectors (any width,
/// <see cref="IFloatVector{TSelf}"/>): per element the gradient scaled by the clipping coefficient, decoupled weight decay,
/// both moments, the bias-corrected denominator and the step. libtorch runs the same rule as seven operations, each a pass
/// over the parameter's slices (mul, lerp, mul, addcmul, sqrt, div, addcdiv): 7.5 of an 83 ms training step on the demo's
/// model. Every operation is per element and IEEE (fused where named), so an element's result is the same at every width
/// and thread count; it equals libtorch's within float32 rounding, not bit for bit (lerp and addcmul round differently).
/// </summary>
internal static unsafe class AdamWKernel
{
    const long Chunk = 16 * 1024; // floats per work item: four 64 KB streams stay in L2

    /// <summary>The step's constants, in float32 as libtorch's float kernels take their scalars.</summary>
    public readonly record struct Constants(float GradientScale, float Decay, float OneMinusBeta1, float Beta2, float OneMinusBeta2, float BiasCorrection2Sqrt, float Eps, float StepSize);

    /// <summary>Whether the kernel runs on these tensors: float32, contiguous, on the CPU, of one size, and vector instructions here.</summary>
    public static bool Supports(Tensor value, Tensor grad, Tensor m, Tensor v) =>
        Accelerated && IsPlainCpuFloat32(value) && IsPlainCpuFloat32(grad) && IsPlainCpuFloat32(m) && IsPlainCpuFloat32(v)
        && grad.numel() == value.numel() && m.numel() == value.numel() && v.numel() == value.numel();

    /// <summary>Updates <paramref name="value"/>, <paramref name="m"/> and <paramref name="v"/> in place from <paramref name="grad"/> (read, not written).</summary>
    public static void Update(Tensor value, Tensor grad, Tensor m, Tensor v, Constants c)
    {
        switch (VectorBits)
        {
            case 512: Update<FloatVector512>(value, grad, m, v, c); break;
            case 256: Update<FloatVector256>(value, grad, m, v, c); break;
            default: Update<FloatVector128>(value, grad, m, v, c); break;
        }
    }

    /// <summary><see cref="Update"/> at the width of <typeparamref name="V"/>, for tensors that <see cref="Supports"/> takes (tests run each width).</summary>
    public static void Update<V>(Tensor value, Tensor grad, Tensor m, Tensor v, Constants c) where V : unmanaged, IFloatVector<V>
    {
        float* p = Pointer(value), g = Pointer(grad), mp = Pointer(m), vp = Pointer(v);
        IntraOpParallel.ForBlocks(value.numel(), Chunk, (_, start, end) => UpdateChunk<V>(p, g, mp, vp, start, end, c));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void UpdateChunk<V>(float* p, float* g, float* m, float* v, long start, long end, Constants c) where V : unmanaged, IFloatVector<V>
    {
        V scale = V.Create(c.GradientScale), decay = V.Create(c.Decay), oneMinusBeta1 = V.Create(c.OneMinusBeta1), beta2 = V.Create(c.Beta2),
            oneMinusBeta2 = V.Create(c.OneMinusBeta2), correction = V.Create(c.BiasCorrection2Sqrt), eps = V.Create(c.Eps), step = V.Create(-c.StepSize);
        long i = start;
        for (; i + V.Lanes <= end; i += V.Lanes)
        {
            var grad = V.Load(g + i) * scale;
            var mean = V.FusedMultiplyAdd(oneMinusBeta1, grad - V.Load(m + i), V.Load(m + i));
            var square = V.FusedMultiplyAdd(oneMinusBeta2 * grad, grad, V.Load(v + i) * beta2);
            var denominator = V.Sqrt(square) / correction + eps;
            V.FusedMultiplyAdd(step, mean / denominator, V.Load(p + i) * decay).Store(p + i);
            mean.Store(m + i);
            square.Store(v + i);
        }
        for (; i < end; i++) // the same operations on one element
        {
            float grad = g[i] * c.GradientScale;
            float mean = MathF.FusedMultiplyAdd(c.OneMinusBeta1, grad - m[i], m[i]);
            float square = MathF.FusedMultiplyAdd(c.OneMinusBeta2 * grad, grad, v[i] * c.Beta2);
            float denominator = MathF.Sqrt(square) / c.BiasCorrection2Sqrt + c.Eps;
            p[i] = MathF.FusedMultiplyAdd(-c.StepSize, mean / denominator, p[i] * c.Decay);
            m[i] = mean;
            v[i] = square;
        }
    }
}
