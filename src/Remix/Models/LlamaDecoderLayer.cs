using Remix.Runtime;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>One pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
public sealed class LlamaDecoderLayer : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "self_attn")] readonly LlamaAttention _attention;
    [TorchSharp.Utils.ComponentName(Name = "mlp")] readonly LlamaMlp _mlp;
    [TorchSharp.Utils.ComponentName(Name = "input_layernorm")] readonly RMSNorm _inputNorm;
    [TorchSharp.Utils.ComponentName(Name = "post_attention_layernorm")] readonly RMSNorm _postAttentionNorm;

    public LlamaDecoderLayer(LlamaConfig c, int layer, Device device, ScalarType dtype, KernelChoice kernels) : base(nameof(LlamaDecoderLayer))
    {
        _attention = new LlamaAttention(c, layer, device, dtype, kernels);
        _mlp = new LlamaMlp(c, device, dtype, kernels);
        _inputNorm = new RMSNorm(c.HiddenSize, c.RmsNormEps, device, dtype, kernels);
        _postAttentionNorm = new RMSNorm(c.HiddenSize, c.RmsNormEps, device, dtype, kernels);
        RegisterComponents();
    }

    /// <summary>See <see cref="LlamaAttention.Forward"/> for the arguments.</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor signedSin, Tensor? mask, bool causal, KvCache? cache, IReadOnlyList<int>? packed = null)
    {
        using var scope = NewDisposeScope();
        var h = x + _attention.Forward(_inputNorm.Forward(x), cos, signedSin, mask, causal, cache, packed);
        return (h + _mlp.Forward(_postAttentionNorm.Forward(h))).MoveToOuterDisposeScope();
    }
}
