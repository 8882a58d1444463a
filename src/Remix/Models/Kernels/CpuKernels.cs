using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace Remix.Models.Kernels;

/// <summary>What Remix's hand-written CPU kernels share: the vector width, raw tensor data and a fast exponential.</summary>
internal static unsafe class CpuKernels
{
    /// <summary>floats per <see cref="Vector512{T}"/>.</summary>
    public const int Lanes = 16;

    /// <summary>Whether a tensor is float32, contiguous, on the CPU, not empty and small enough for a span over its bytes.</summary>
    public static bool IsPlainCpuFloat32(Tensor t) =>
        t.device_type == TorchSharp.DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous()
        && t.numel() > 0 && t.numel() < int.MaxValue / sizeof(float);

    /// <summary>The first float of a contiguous CPU float32 tensor.</summary>
    public static float* Pointer(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    /// <summary>
    /// e^x per lane: 2^n · p(r) with n = round(x·log₂e), r = x − n·ln 2 in two parts, and p the polynomial of
    /// Cephes' expf (relative error about 1e-7). Below −87.3 (including −∞) the result is 0; above 88.3 it stays
    /// at e^88.3 (about 2e38) instead of overflowing.
    /// </summary>
    /// <remarks>
    /// <c>Vector512.Exp</c> computes float lanes in double: it took two thirds of the attention kernel's forward pass
    /// (about 150 cycles per vector, against about 15 here).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var underflow = Vector512.LessThan(x, Vector512.Create(-87.33654f));
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-87.33654f)), Vector512.Create(88.3f));
        var n = Vector512.Round(x * Vector512.Create(1.44269504f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1.9875691500e-4f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        var twoToN = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.ConditionalSelect(underflow, Vector512<float>.Zero, p * twoToN);
    }
}
