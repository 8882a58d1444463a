using Remix.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// The decoder stack (Hugging Face's <c>model.*</c>): token embedding, layers, final norm. Returns
/// the last hidden states, and optionally every layer's residual stream for layer-wise probes.
/// </summary>
public sealed class LlamaModel : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "embed_tokens")] readonly TokenEmbedding _embedTokens;
    [TorchSharp.Utils.ComponentName(Name = "layers")] readonly ModuleList<LlamaDecoderLayer> _layers;
    [TorchSharp.Utils.ComponentName(Name = "norm")] readonly RMSNorm _norm;

    readonly RotaryEmbedding _rotary;
    readonly int? _slidingWindow;

    public LlamaModel(LlamaConfig c, Device device, ScalarType dtype, KernelChoice kernels) : base(nameof(LlamaModel))
    {
        _embedTokens = new TokenEmbedding(c.VocabSize, c.HiddenSize, device, dtype);
        _layers = new ModuleList<LlamaDecoderLayer>();
        for (int i = 0; i < c.NumHiddenLayers; i++) _layers.Add(new LlamaDecoderLayer(c, i, device, dtype, kernels));
        _norm = new RMSNorm(c.HiddenSize, c.RmsNormEps, device, dtype, kernels);
        _rotary = new RotaryEmbedding(c.HeadDim, c.RopeTheta, c.RopeScaling);
        _slidingWindow = c.SlidingWindow;
        RegisterComponents();
    }

    public TokenEmbedding EmbedTokens => _embedTokens;
    public RMSNorm Norm => _norm;

    /// <summary>
    /// inputIds and positionIds: [batch, seq]; attentionMask: [batch, cached + seq] with 1 for real
    /// tokens and 0 for padding, or null when nothing is padded. Returns the normed hidden states
    /// [batch, seq, hidden]; with <paramref name="residuals"/>, also the residual stream after the
    /// embedding and after every layer (before the final norm). With <paramref name="packed"/>, inputIds is a single row
    /// of sequences of these lengths one after another (<see cref="PackedPositions"/> numbers their positions), each
    /// attending only within itself, with no mask and no cache.
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor positionIds, Tensor? attentionMask, KvCache? cache, List<Tensor>? residuals = null, IReadOnlyList<int>? packed = null)
    {
        using var scope = NewDisposeScope();
        long seq = inputIds.shape[1], past = cache?.Length ?? 0;
        if (packed is not null && (cache is not null || attentionMask is not null || !AttentionMask.FillOneRow(packed, inputIds.shape[0], seq)))
            throw new ArgumentException($"packed sequences of lengths {string.Join(", ", packed)} need a single row of that many ids, no attention mask and no cache; got [{string.Join(", ", inputIds.shape)}]");
        var h = _embedTokens.Forward(inputIds);
        var (cos, signedSin) = _rotary.Compute(positionIds, h.dtype);
        bool causal = seq > 1;
        Tensor? mask = null;
        if (packed is not null)
        {
            if (_slidingWindow is { } window && packed.Max() > window) mask = AttentionMask.Packed(packed, window, h.dtype, h.device);
        }
        else if (attentionMask is not null || _slidingWindow is { } w && past + seq > w || (causal && past > 0))
            mask = AttentionMask.Build(attentionMask, inputIds.shape[0], seq, past, _slidingWindow, h.dtype, h.device);
        residuals?.Add(h.MoveToOuterDisposeScope());
        foreach (var layer in _layers)
        {
            h = layer.Forward(h, cos, signedSin, mask, causal, cache, packed);
            residuals?.Add(h.MoveToOuterDisposeScope());
        }
        cache?.Advance(seq);
        return _norm.Forward(h).MoveToOuterDisposeScope();
    }

    /// <summary>Positions [1, total] for sequences of <paramref name="lengths"/> packed into one row: 0, 1, ... within each.</summary>
    public static Tensor PackedPositions(IReadOnlyList<int> lengths, Device device) => AttentionMask.PackedPositions(lengths, device).unsqueeze(0);
}
