using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace Remix.Models.Kernels;

/// <summary>
/// What Remix's hand-written CPU kernels share: the vector width this process runs them at, raw tensor data and a
/// fast exponential. The kernels are generic over <see cref="IFloatVector{TSelf}"/>; their entry points run the width
/// chosen here once, at start-up.
/// </summary>
internal static unsafe class CpuKernels
{
    /// <summary>
    /// The widest vector .NET accelerates in this process, in bits: 512 with AVX-512, 256 with AVX2, 128 with SSE or
    /// ARM NEON; 0 where there is none or no fused multiply-add instruction (the kernels then do not run). What .NET
    /// will use, not what the CPU has: <c>DOTNET_EnableAVX512=0</c> makes it 256 on a CPU with AVX-512.
    /// </summary>
    public static readonly int VectorBits =
        !(Fma.IsSupported || AdvSimd.IsSupported) ? 0
        : Vector512.IsHardwareAccelerated ? 512
        : Vector256.IsHardwareAccelerated ? 256
        : Vector128.IsHardwareAccelerated ? 128
        : 0;

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
