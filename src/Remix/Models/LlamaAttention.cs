using Remix.Models.Kernels;
using Remix.Runtime;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// Multi-head self-attention with grouped key/value heads, rotary positions and an optional KV cache.
/// </summary>
public sealed class LlamaAttention : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "q_proj")] readonly Linear _q;
    [TorchSharp.Utils.ComponentName(Name = "k_proj")] readonly Linear _k;
    [TorchSharp.Utils.ComponentName(Name = "v_proj")] readonly Linear _v;
    [TorchSharp.Utils.ComponentName(Name = "o_proj")] readonly Linear _o;

    readonly int _layer, _heads, _kvHeads, _headDim;
    readonly bool _cpuKernels;

    public LlamaAttention(LlamaConfig c, int layer, Device device, ScalarType dtype, KernelChoice kernels) : base(nameof(LlamaAttention))
    {
        _cpuKernels = KernelChoices.UsesCpuKernels(kernels);
        _layer = layer;
        _heads = c.NumAttentionHeads;
        _kvHeads = c.NumKeyValueHeads;
        _headDim = c.HeadDim;
        _q = new Linear(c.HiddenSize, (long)_heads * _headDim, c.QkvBias, device, dtype);
        _k = new Linear(c.HiddenSize, (long)_kvHeads * _headDim, c.QkvBias, device, dtype);
        _v = new Linear(c.HiddenSize, (long)_kvHeads * _headDim, c.QkvBias, device, dtype);
        _o = new Linear((long)_heads * _headDim, c.HiddenSize, c.OutputBias, device, dtype);
        RegisterComponents();
    }

    /// <summary>
    /// x: [batch, seq, hidden]; cos/signedSin: [batch, seq, head_dim] (<see cref="RotaryEmbedding.Compute"/>);
    /// mask: additive [batch, 1, seq, keys] or null for plain causal attention (then <paramref name="causal"/>
    /// says whether to apply it). Plain causal attention without a cache runs on <see cref="CpuCausalAttention"/>
    /// where the model's <see cref="KernelChoice"/> allows it and it applies (float32 on a CPU with vector instructions, head_dim whole vectors), otherwise
    /// on libtorch's kernel. <paramref name="packed"/>: x is a single row of sequences of these lengths one after another,
    /// each attending only within itself (causal; then <paramref name="mask"/> is null, or the whole row's, with a sliding window).
    /// </summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor signedSin, Tensor? mask, bool causal, KvCache? cache, IReadOnlyList<int>? packed = null)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], seq = x.shape[1];
        var q = _q.Forward(x).view(batch, seq, _heads, _headDim);   // [batch, seq, heads, head_dim]
        var k = _k.Forward(x).view(batch, seq, _kvHeads, _headDim); // [batch, seq, kv_heads, head_dim]
        var v = _v.Forward(x).view(batch, seq, _kvHeads, _headDim);
        Tensor attended; // [batch, seq, heads, head_dim]
        if (_cpuKernels && cache is null && mask is null && (causal || packed is not null) && CpuCausalAttention.Supports(q, k, v, cos, signedSin, packed))
        {
            attended = CpuCausalAttention.Apply(q, k, v, cos, signedSin, packed); // rotates q and k itself
        }
        else
        {
            if (packed is not null)
            {
                if (cache is not null) throw new ArgumentException("packed sequences take no KV cache");
                mask ??= AttentionMask.Packed(packed, null, x.dtype, x.device); // the whole row's: [1, 1, total, total]
                causal = false;
            }
            q = RotaryEmbedding.Apply(q, cos, signedSin).transpose(1, 2); // [batch, heads, seq, head_dim]
            k = RotaryEmbedding.Apply(k, cos, signedSin).transpose(1, 2); // [batch, kv_heads, seq, head_dim]
            v = v.transpose(1, 2);
            if (cache is not null) (k, v) = cache.Append(_layer, k, v);
            attended = GroupedAttention(q, k, v, mask, causal).transpose(1, 2).contiguous();
        }
        return _o.Forward(attended.reshape(batch, seq, (long)_heads * _headDim)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Attention of q [batch, heads, seq, d] over k/v [batch, kv_heads, keys, d], the same as repeating
    /// each kv head for its group (<see cref="RepeatKv"/>) but without the copies: the group's query
    /// heads are stacked along the sequence ([batch, kv_heads, groups * seq, d]), so one attention per
    /// kv head serves them all, with the mask repeated to match. mask: additive [batch, 1, seq, keys],
    /// or null for plain causal attention when <paramref name="causal"/>.
    /// </summary>
    public static Tensor GroupedAttention(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal)
    {
        long batch = q.shape[0], heads = q.shape[1], seq = q.shape[2], d = q.shape[3], kvHeads = k.shape[1], keys = k.shape[2];
        long groups = heads / kvHeads;
        if (groups == 1) return nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, mask is null && causal);
        using var scope = NewDisposeScope();
        var stacked = q.reshape(batch, kvHeads, groups * seq, d);
        Tensor? stackedMask = mask?.repeat(1, 1, groups, 1);
        if (stackedMask is null && causal)
        {
            // Stacked row g * seq + i is query i of group member g: it sees keys up to keys - seq + i.
            var allowed = ones([seq, keys], ScalarType.Bool, q.device).tril(keys - seq);
            stackedMask = allowed.repeat(groups, 1);
        }
        var attended = nn.functional.scaled_dot_product_attention(stacked, k, v, stackedMask, 0.0, false);
        return attended.reshape(batch, heads, seq, d).MoveToOuterDisposeScope();
    }

    /// <summary>[batch, kv_heads, seq, d] -> [batch, kv_heads * groups, seq, d], each kv head repeated for its group.</summary>
    public static Tensor RepeatKv(Tensor kv, int groups)
    {
        if (groups == 1) return kv.alias();
        long b = kv.shape[0], h = kv.shape[1], s = kv.shape[2], d = kv.shape[3];
        using var expanded = kv.unsqueeze(2).expand(b, h, groups, s, d);
        return expanded.reshape(b, h * groups, s, d);
    }
}
