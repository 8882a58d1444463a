using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// y = x Wᵀ + b with Hugging Face parameter names (<c>weight</c>, <c>bias</c>). Parameters start
/// uninitialised, so building a large model costs no random-number time before its weights are loaded.
/// </summary>
public sealed class Linear : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "weight")]
    readonly Parameter _weight;

    [TorchSharp.Utils.ComponentName(Name = "bias")]
    readonly Parameter? _bias;

    public Linear(long inFeatures, long outFeatures, bool hasBias, Device device, ScalarType dtype) : base(nameof(Linear))
    {
        _weight = new Parameter(empty([outFeatures, inFeatures], dtype, device));
        _bias = hasBias ? new Parameter(empty([outFeatures], dtype, device)) : null;
        RegisterComponents();
    }

    /// <summary>The [out, in] weight matrix.</summary>
    public Parameter Weight => _weight;

    /// <summary>A low-rank adapter added to this projection's output (LoRA), or null.</summary>
    public LoraAdapter? Adapter { get; set; }

    public Tensor Forward(Tensor x)
    {
        var y = nn.functional.linear(x, _weight, _bias);
        if (Adapter is null) return y;
        using var delta = Adapter.Apply(x);
        return y.add_(delta);
    }
}
