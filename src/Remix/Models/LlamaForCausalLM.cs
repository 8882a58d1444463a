using Remix.Models.Kernels;
using Remix.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// A Llama-family causal language model whose parameter names equal the Hugging Face names
/// (<c>model.layers.0.self_attn.q_proj.weight</c>, <c>lm_head.weight</c>, ...). With tied
/// embeddings the LM head reuses <c>model.embed_tokens.weight</c> and has no parameter of its own.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "model")] readonly LlamaModel _model;
    [TorchSharp.Utils.ComponentName(Name = "lm_head")] readonly Linear? _lmHead;

    /// <summary>A model of <paramref name="config"/> with uninitialised weights; <paramref name="kernels"/> says whether its CPU kernels may run.</summary>
    public LlamaForCausalLM(LlamaConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32, KernelChoice kernels = KernelChoice.Auto) : base(Loadable(nameof(LlamaForCausalLM)))
    {
        Config = config;
        Device = device ?? CPU;
        DType = dtype;
        Kernels = kernels;
        _model = new LlamaModel(config, Device, dtype, kernels);
        _lmHead = config.TieWordEmbeddings ? null : new Linear(config.HiddenSize, config.VocabSize, false, Device, dtype);
        RegisterComponents();
    }

    public LlamaConfig Config { get; }
    public Device Device { get; }
    public ScalarType DType { get; }

    /// <summary>Whether the norms, SwiGLU and causal attention may run on Remix's CPU kernels, fixed when the model is built.</summary>
    public KernelChoice Kernels { get; }
    public LlamaModel Model => _model;

    /// <summary>
    /// Whether a batch of examples is best packed into one row (<see cref="LlamaModel.Forward"/>'s <c>packed</c>) rather
    /// than padded: where causal attention runs on Remix's CPU kernel (float32 on the CPU under <see cref="KernelChoice.Auto"/>,
    /// with head_dim whole vectors), which attends within each packed sequence at no cost beyond the sequence's own. Elsewhere
    /// libtorch's attention would need a dense mask over the whole row, so batches stay padded, as
    /// <see cref="KernelChoice.Reference"/> keeps every operation as it was.
    /// </summary>
    public bool PacksSequences => KernelChoices.UsesCpuKernels(Kernels) && Device.type == DeviceType.CPU && DType == ScalarType.Float32
        && CpuCausalAttention.SupportsHeadDim(Config.HeadDim);

    /// <summary>The [vocab, hidden] matrix that maps hidden states to logits.</summary>
    public Tensor LmHeadWeight => _lmHead?.Weight ?? _model.EmbedTokens.Weight;

    /// <summary>
    /// Logits for [batch, seq] token ids: [batch, seq, vocab], or [batch, 1, vocab] for the last
    /// position only when <paramref name="lastOnly"/>. Positions default to cached length + 0, 1, ...;
    /// <paramref name="attentionMask"/> ([batch, cached + seq], 1 = real) is needed only with padding.
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor? positionIds = null, Tensor? attentionMask = null, KvCache? cache = null, bool lastOnly = false)
    {
        using var scope = NewDisposeScope();
        positionIds ??= DefaultPositions(inputIds, cache?.Length ?? 0);
        var hidden = _model.Forward(inputIds, positionIds, attentionMask, cache);
        if (lastOnly) hidden = hidden.narrow(1, hidden.shape[1] - 1, 1);
        return LmHead(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>Applies the LM head to hidden states that have already passed the final norm.</summary>
    public Tensor LmHead(Tensor normedHidden) => nn.functional.linear(normedHidden, LmHeadWeight);

    /// <summary>Positions past, past + 1, ... for every row of [batch, seq] ids.</summary>
    public static Tensor DefaultPositions(Tensor inputIds, long past) =>
        arange(past, past + inputIds.shape[1], ScalarType.Int64, inputIds.device).unsqueeze(0).expand(inputIds.shape[0], -1);

    /// <summary>
    /// Fresh weights as Hugging Face initialises them: normal(0, initializer_range) for matrices and
    /// embeddings, zero biases, unit norms; deterministic for a seed.
    /// </summary>
    public void InitializeWeights(long seed)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed, CPU);
        foreach (var (name, parameter) in named_parameters())
        {
            using var scope = NewDisposeScope();
            Tensor value;
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) value = ones(parameter.shape, ScalarType.Float32);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) value = zeros(parameter.shape, ScalarType.Float32);
            else value = empty(parameter.shape, ScalarType.Float32).normal_(0, Config.InitializerRange, generator);
            parameter.copy_(value.to(parameter.dtype, parameter.device));
        }
    }

    /// <summary>Number of parameters (the tied LM head counted once).</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>
    /// <paramref name="name"/>, once TorchSharp is known to load here: the base module is its first touch, and a library
    /// user with the libstdc++ fix turned off gets one exception naming the switch instead of TorchSharp's load trace.
    /// </summary>
    static string Loadable(string name)
    {
        Runtime.GlibcxxCompat.ThrowIfTurnedOffWhereNeeded();
        return name;
    }
}
