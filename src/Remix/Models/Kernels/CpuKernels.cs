using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Remix.Runtime;
using static TorchSharp.torch;

namespace Remix.Models.Kernels;

/// <summary>
/// What Remix's hand-written CPU kernels share: the vector width this process runs them at, raw tensor data and a
/// fast exponential. The kernels are generic over <see cref="IFloatVector{TSelf}"/>; their entry points run the width
/// chosen here once, at start-up.
/// </summary>
internal static unsafe class CpuKernels
{
    /// <summary>The vector width the kernels run at: <see cref="KernelChoices.VectorBits"/>.</summary>
    public static readonly int VectorBits = KernelChoices.VectorBits;

    /// <summary>Floats per vector at <see cref="VectorBits"/> (0 where the kernels do not run).</summary>
    public static readonly int Lanes = VectorBits / 32;

    /// <summary>Whether the kernels run in this process at all (<see cref="VectorBits"/> is not 0).</summary>
    public static bool Accelerated => VectorBits != 0;

    /// <summary>Whether a tensor is float32, contiguous, on the CPU, not empty and small enough for a span over its bytes.</summary>
    public static bool IsPlainCpuFloat32(Tensor t) =>
        t.device_type == TorchSharp.DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous()
        && t.numel() > 0 && t.numel() < int.MaxValue / sizeof(float);

    /// <summary>The first float of a contiguous CPU float32 tensor.</summary>
    public static float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    /// <summary>
    /// RoPE on one row of head size <paramref name="d"/>: to = from·cos + roll(from, d/2)·signedSin (signedSin = (−sin₁, sin₂)), as
    /// <see cref="RotaryEmbedding.Apply"/> computes it: two products and a sum per element, no fused multiply-add, so every width
    /// gives the scalar loop's bits. Pairs (x, x + d/2) a vector at a time, at a narrower width where half a row is less than a
    /// vector of <typeparamref name="V"/>; <paramref name="to"/> may be <paramref name="from"/>.
    /// </summary>
    public static void Rotate<V>(float* from, float* to, float* cos, float* signedSin, int d) where V : unmanaged, IFloatVector<V> =>
        RotateAtWidth<V>(from, to, cos, signedSin, d, forward: true);

    /// <summary>
    /// The gradient through <see cref="Rotate"/> (its transpose), in place: row[y] ← row[y]·cos[y] + row[ȳ]·signedSin[ȳ],
    /// ȳ = (y + d/2) mod d; at every width the scalar loop's bits, as there.
    /// </summary>
    public static void RotateBack<V>(float* row, float* cos, float* signedSin, int d) where V : unmanaged, IFloatVector<V> =>
        RotateAtWidth<V>(row, row, cos, signedSin, d, forward: false);

    /// <summary><see cref="RotatePairs"/> at the width of <typeparamref name="V"/>, or a narrower one where half a row is less than its vector.</summary>
    static void RotateAtWidth<V>(float* from, float* to, float* cos, float* signedSin, int d, bool forward) where V : unmanaged, IFloatVector<V>
    {
        int half = d / 2;
        if (half >= V.Lanes || V.Bits == 128) RotatePairs<V>(from, to, cos, signedSin, half, forward);
        else if (half >= FloatVector256.Lanes && V.Bits > 256) RotatePairs<FloatVector256>(from, to, cos, signedSin, half, forward);
        else RotatePairs<FloatVector128>(from, to, cos, signedSin, half, forward);
    }

    /// <summary>
    /// For x below <paramref name="half"/>, with a = from[x] and b = from[x + half]: forward, to[x] = a·cos[x] + b·signedSin[x] and
    /// to[x + half] = b·cos[x + half] + a·signedSin[x + half]; backward, the signedSin indices swapped (x + half, then x).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RotatePairs<V>(float* from, float* to, float* cos, float* signedSin, int half, bool forward) where V : unmanaged, IFloatVector<V>
    {
        float* lowSin = forward ? signedSin : signedSin + half, highSin = forward ? signedSin + half : signedSin;
        int x = 0;
        for (; x + V.Lanes <= half; x += V.Lanes)
        {
            V a = V.Load(from + x), b = V.Load(from + x + half);
            (a * V.Load(cos + x) + b * V.Load(lowSin + x)).Store(to + x);
            (b * V.Load(cos + x + half) + a * V.Load(highSin + x)).Store(to + x + half);
        }
        for (; x < half; x++)
        {
            float a = from[x], b = from[x + half];
            to[x] = a * cos[x] + b * lowSin[x];
            to[x + half] = b * cos[x + half] + a * highSin[x];
        }
    }

    /// <summary>
    /// e^x per lane: 2^n · p(r) with n = round(x·log₂e), r = x − n·ln 2 in two parts, and p the polynomial of
    /// Cephes' expf (relative error about 1e-7). Below −87.3 (including −∞) the result is 0; above 88.3 it stays
    /// at e^88.3 (about 2e38) instead of overflowing. Every step is per lane, so a lane's result is the same at
    /// every width.
    /// </summary>
    /// <remarks>
    /// <c>Vector512.Exp</c> computes float lanes in double: it took two thirds of the attention kernel's forward pass
    /// (about 150 cycles per vector, against about 15 here).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Exp<V>(V x) where V : unmanaged, IFloatVector<V>
    {
        var underflow = V.LessThan(x, V.Create(-87.33654f));
        x = V.Min(V.Max(x, V.Create(-87.33654f)), V.Create(88.3f));
        var n = V.Round(x * V.Create(1.44269504f));
        var r = V.FusedMultiplyAdd(n, V.Create(-0.693359375f), x);
        r = V.FusedMultiplyAdd(n, V.Create(2.12194440e-4f), r);
        var p = V.Create(1.9875691500e-4f);
        p = V.FusedMultiplyAdd(p, r, V.Create(1.3981999507e-3f));
        p = V.FusedMultiplyAdd(p, r, V.Create(8.3334519073e-3f));
        p = V.FusedMultiplyAdd(p, r, V.Create(4.1665795894e-2f));
        p = V.FusedMultiplyAdd(p, r, V.Create(1.6666665459e-1f));
        p = V.FusedMultiplyAdd(p, r, V.Create(5.0000001201e-1f));
        p = V.FusedMultiplyAdd(p, r * r, r + V.One);
        return V.ConditionalSelect(underflow, V.Zero, V.ScaleByPowerOfTwo(p, n));
    }
}
