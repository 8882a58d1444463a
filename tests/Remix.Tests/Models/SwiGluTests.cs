using System.Runtime.Intrinsics;
using Remix.Models.Kernels;
using static TorchSharp.torch;

namespace Remix.Tests.Models;

public class SwiGluTests
{
    [Fact]
    public void ForwardAndGradients_EqualSiluTimesUpInDouble()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        // 33,000 elements: two whole work items, a part of a third, and a tail shorter than a vector.
        var gate = randn([3, 5, 2200], generator: generator) * 4;
        gate.index_put_(tensor(100f), tensor(0L), tensor(0L), tensor(0L));  // sigmoid saturates at 1
        gate.index_put_(tensor(-100f), tensor(0L), tensor(0L), tensor(1L)); // and at 0
        gate.requires_grad_();
        var up = randn([3, 5, 2200], generator: generator).requires_grad_();
        var gradProduct = randn([3, 5, 2200], generator: generator);
        Assert.Equal(CpuKernels.Accelerated, SwiGlu.Supports(gate, up));

        var actual = SwiGlu.Apply(gate, up, KernelChoice.Auto);
        actual.backward([gradProduct]);
        var (gradGate, gradUp) = (gate.grad!.clone(), up.grad!.clone());
        gate.grad!.zero_();
        up.grad!.zero_();
        var (gate64, up64) = (gate.detach().to(ScalarType.Float64).requires_grad_(), up.detach().to(ScalarType.Float64).requires_grad_());
        var expected = nn.functional.silu(gate64) * up64;
        expected.backward([gradProduct.to(ScalarType.Float64)]);

        Assert.True(((actual.to(ScalarType.Float64) - expected).abs() / (expected.abs() + 1e-3)).max().item<double>() < 1e-5);
        Assert.True((gradGate.to(ScalarType.Float64) - gate64.grad!).abs().max().item<double>() < 1e-5);
        Assert.True((gradUp.to(ScalarType.Float64) - up64.grad!).abs().max().item<double>() < 1e-5);
    }

    [Fact]
    public void WithoutGradients_GivesTheSameProduct()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(8);
        var (gate, up) = (randn([4, 100], generator: generator).requires_grad_(), randn([4, 100], generator: generator));
        var withGradients = SwiGlu.Apply(gate, up, KernelChoice.Auto);
        using (no_grad())
        {
            var without = SwiGlu.Apply(gate, up, KernelChoice.Auto);
            Assert.False(without.requires_grad);
            Assert.True(without.equal(withGradients.detach()).all().item<bool>());
        }
    }

    [Fact]
    public void Unsupported_FallsBackToLibtorch()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(9);
        var gate = randn([2, 10], generator: generator, dtype: ScalarType.Float64);
        var up = randn([2, 10], generator: generator, dtype: ScalarType.Float64);
        Assert.False(SwiGlu.Supports(gate, up));
        Assert.True(SwiGlu.Apply(gate, up, KernelChoice.Auto).equal(nn.functional.silu(gate) * up).all().item<bool>());
        Assert.False(SwiGlu.Supports(randn(4, 6).t(), randn(6, 4)));
    }
}
