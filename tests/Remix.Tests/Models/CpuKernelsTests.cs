using System.Runtime.Intrinsics;
using Remix.Models.Kernels;
using Remix.Models;

namespace Remix.Tests.Models;

public class CpuKernelsTests
{
    [Fact]
    public void Exp_IsWithinAFewUlpsOfTheDoubleExponential_ZeroBelowTheFloatRange_AndHeldBelowOverflow()
    {
        double worst = 0;
        for (int i = 0; i < 4096; i++)
        {
            float x = -87f + 95f * i / 4095; // -87 .. 8
            var e = CpuKernels.Exp(Vector512.Create(x));
            double exact = Math.Exp(x);
            for (int lane = 0; lane < Vector512<float>.Count; lane++) Assert.Equal(e[0], e[lane]);
            worst = Math.Max(worst, Math.Abs(e[0] - exact) / exact);
        }
        Assert.True(worst < 4e-7, $"relative error {worst}"); // float's own rounding is 6e-8
        Assert.Equal(1f, CpuKernels.Exp(Vector512<float>.Zero)[0]);
        Assert.Equal(0f, CpuKernels.Exp(Vector512.Create(float.NegativeInfinity))[0]);
        Assert.Equal(0f, CpuKernels.Exp(Vector512.Create(-100f))[0]);
        Assert.Equal(MathF.Exp(88.3f), CpuKernels.Exp(Vector512.Create(200f))[0], 1e32f); // held at e^88.3, not infinity
    }
}
