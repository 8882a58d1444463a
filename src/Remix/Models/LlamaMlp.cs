using Remix.Models.Kernels;
using Remix.Runtime;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)).</summary>
public sealed class LlamaMlp : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "gate_proj")] readonly Linear _gate;
    [TorchSharp.Utils.ComponentName(Name = "up_proj")] readonly Linear _up;
    [TorchSharp.Utils.ComponentName(Name = "down_proj")] readonly Linear _down;

    readonly KernelChoice _kernels;

    public LlamaMlp(LlamaConfig c, Device device, ScalarType dtype, KernelChoice kernels) : base(nameof(LlamaMlp))
    {
        _kernels = kernels;
        _gate = new Linear(c.HiddenSize, c.IntermediateSize, c.MlpBias, device, dtype);
        _up = new Linear(c.HiddenSize, c.IntermediateSize, c.MlpBias, device, dtype);
        _down = new Linear(c.IntermediateSize, c.HiddenSize, c.MlpBias, device, dtype);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = SwiGlu.Apply(_gate.Forward(x), _up.Forward(x), _kernels);
        return _down.Forward(hidden).MoveToOuterDisposeScope();
    }
}
