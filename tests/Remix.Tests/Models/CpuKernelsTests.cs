using System.Runtime.Intrinsics;
using Remix.Models.Kernels;

namespace Remix.Tests.Models;

public unsafe class CpuKernelsTests
{
    [Fact]
    public void Exp_IsWithinAFewUlpsOfTheDoubleExponential_ZeroBelowTheFloatRange_AndHeldBelowOverflow()
    {
        double worst = 0;
        for (int i = 0; i < 4096; i++)
        {
            float x = -87f + 95f * i / 4095; // -87 .. 8
            var e = CpuKernels.Exp(new FloatVector512(Vector512.Create(x))).Value;
            double exact = Math.Exp(x);
            for (int lane = 0; lane < Vector512<float>.Count; lane++) Assert.Equal(e[0], e[lane]);
            worst = Math.Max(worst, Math.Abs(e[0] - exact) / exact);
        }
        Assert.True(worst < 4e-7, $"relative error {worst}"); // float's own rounding is 6e-8
        Assert.Equal(1f, CpuKernels.Exp(FloatVector512.Zero).Value[0]);
        Assert.Equal(0f, CpuKernels.Exp(FloatVector512.Create(float.NegativeInfinity)).Value[0]);
        Assert.Equal(0f, CpuKernels.Exp(FloatVector512.Create(-100f)).Value[0]);
        Assert.Equal(MathF.Exp(88.3f), CpuKernels.Exp(FloatVector512.Create(200f)).Value[0], 1e32f); // held at e^88.3, not infinity
    }

    [Fact]
    public void Exp_GivesTheSameFloatInEveryLaneAtEveryWidth()
    {
        const int count = 4096;
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = -90f + 180f * i / (count - 1);
        x[1] = float.NegativeInfinity;
        var (e128, e256, e512) = (ExpOf<FloatVector128>(x), ExpOf<FloatVector256>(x), ExpOf<FloatVector512>(x));
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(e512[i]), BitConverter.SingleToInt32Bits(e128[i]));
            Assert.Equal(BitConverter.SingleToInt32Bits(e512[i]), BitConverter.SingleToInt32Bits(e256[i]));
        }
        Assert.Equal(0f, e512[1]);
        Assert.True(Math.Abs(e512[count / 2] / Math.Exp(x[count / 2]) - 1) < 4e-7);
    }

    [Fact]
    public void Vectors_LoadStoreSumAndMaxAcross_AtEveryWidth()
    {
        CheckReductions<FloatVector128>();
        CheckReductions<FloatVector256>();
        CheckReductions<FloatVector512>();
    }

    [Fact]
    public void TheChosenWidth_IsTheWidestTheRuntimeAccelerates()
    {
        int expected = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0;
        if (!(System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported)) expected = 0;
        Assert.Equal(expected, CpuKernels.VectorBits);
        Assert.Equal(expected / 32, CpuKernels.Lanes);
        Assert.Equal(expected != 0, KernelChoices.UsesCpuKernels(KernelChoice.Auto));
    }

    static void CheckReductions<V>() where V : unmanaged, IFloatVector<V>
    {
        Assert.Equal(V.Bits / 32, V.Lanes);
        var values = new float[V.Lanes];
        for (int i = 0; i < V.Lanes; i++) values[i] = i % 3 == 0 ? -i : i * 0.5f;
        values[V.Lanes / 2 + 1] = 100f;
        var back = new float[V.Lanes];
        var masked = new float[V.Lanes];
        fixed (float* p = values, b = back, m = masked)
        {
            var v = V.Load(p);
            v.Store(b);
            Assert.Equal(values.Sum(), V.Sum(v), 1e-4f);
            Assert.Equal(100f, V.MaxAcross(v));
            V.ConditionalSelect(V.FirstLanes(3), v, V.Create(-1f)).Store(m);
        }
        Assert.Equal(values, back);
        for (int i = 0; i < V.Lanes; i++) Assert.Equal(i < 3 ? values[i] : -1f, masked[i]);
    }

    static float[] ExpOf<V>(float[] x) where V : unmanaged, IFloatVector<V>
    {
        var result = new float[x.Length];
        fixed (float* input = x, output = result)
            for (int i = 0; i < x.Length; i += V.Lanes) CpuKernels.Exp(V.Load(input + i)).Store(output + i);
        return result;
    }
}
