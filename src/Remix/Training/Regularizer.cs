using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Remix.Training;

/// <summary>
/// A penalty added to the training loss to keep a model near an earlier one (continual-learning
/// baselines). Parameter penalties are added once per optimizer step; output penalties per batch.
/// </summary>
public abstract class Regularizer : IDisposable
{
    /// <summary>A short name for logs: <c>l2</c>, <c>ewc</c>, <c>kl</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The strength λ.</summary>
    public double Strength { get; init; } = 1.0;

    /// <summary>The penalty on the current parameters (once per step), or null when it depends on outputs.</summary>
    public virtual Tensor? ParameterPenalty(LlamaForCausalLM model) => null;

    /// <summary>
    /// The penalty for one batch given the current model's logits at the labelled positions, or null; <paramref name="packed"/>:
    /// the lengths of the sequences packed into the batch's single row (<see cref="CausalLmLoss.AtLabels"/>), or null for padded rows.
    /// </summary>
    public virtual Tensor? OutputPenalty(Tensor inputIds, Tensor labels, Tensor logits, long groupTokens, IReadOnlyList<int>? packed = null) => null;

    public virtual void Dispose() { }

    /// <summary>
    /// Builds the named regularizer toward the current (starting) weights of <paramref name="loaded"/>:
    /// <c>l2</c>; <c>ewc</c> with the Fisher of <paramref name="previousData"/>; <c>kl</c> against a frozen copy of
    /// <paramref name="startingCheckpoint"/>, loaded on the model's device and dtype and, like <paramref name="loaded"/>
    /// (the same checkpoint), with its LoRA adapter merged when <paramref name="loaded"/> had one merged.
    /// </summary>
    public static Regularizer Create(string type, double strength, LoadedModel loaded, string startingCheckpoint,
        IEnumerable<Data.Example> previousData, int maxLength) => type switch
    {
        "l2" => new L2Regularizer(loaded.Model) { Strength = strength },
        "ewc" => new EwcRegularizer(loaded.Model, new ExampleEncoder(loaded.Tokenizer, maxLength: maxLength)
            .EncodeAll(previousData.Where(e => e.Turns.Count > 0)).Examples) { Strength = strength },
        "kl" => new KlRegularizer(LoadedModel.LoadModel(startingCheckpoint, loaded.Model.Device, loaded.Model.DType, applyAdapter: loaded.Adapter is not null, kernels: loaded.Model.Kernels).Model) { Strength = strength },
        _ => throw new InvalidInputException("regularizer", $"expected l2, ewc or kl, found \"{type}\""),
    };

    /// <summary>Why l2 and ewc do not combine with LoRA adapters.</summary>
    public const string WeightAnchoredWithLora = "l2 and ewc keep the model's weights near the previous stage's, and with LoRA those weights are frozen, so the penalty would be a constant";

    /// <summary>
    /// Detached float32 copies of every trainable parameter, keyed by name: the anchor of l2 and ewc
    /// (<paramref name="name"/>), refused when LoRA adapters are attached (<see cref="WeightAnchoredWithLora"/>).
    /// </summary>
    protected static Dictionary<string, Tensor> Snapshot(LlamaForCausalLM model, string name)
    {
        if (Lora.HasAdapters(model)) throw new InvalidInputException("regularizer", $"{name} cannot be combined with LoRA: {WeightAnchoredWithLora}; use kl");
        using var noGrad = no_grad();
        return model.named_parameters().Where(p => p.parameter.requires_grad)
            .ToDictionary(p => p.name, p => p.parameter.detach().to(ScalarType.Float32).clone().DetachFromDisposeScope());
    }

    /// <summary>Σ w_i (θ_i − θ*_i)² over parameters, with weights w (all ones when null).</summary>
    protected static Tensor WeightedDistance(LlamaForCausalLM model, IReadOnlyDictionary<string, Tensor> anchor, IReadOnlyDictionary<string, Tensor>? weights)
    {
        Tensor? total = null;
        foreach (var (name, p) in model.named_parameters())
        {
            if (!anchor.TryGetValue(name, out var a)) continue;
            var diff = p.to(ScalarType.Float32) - a;
            var term = weights is null ? diff.pow(2).sum() : (weights[name] * diff.pow(2)).sum();
            total = total is null ? term : total + term;
        }
        return total ?? zeros(1).sum();
    }
}

/// <summary>L2 to the previous stage's weights: λ/2 · Σ (θ − θ_prev)².</summary>
public sealed class L2Regularizer : Regularizer
{
    readonly Dictionary<string, Tensor> _anchor;

    /// <summary>Anchors to the model's current weights (call before training the new stage).</summary>
    public L2Regularizer(LlamaForCausalLM model) => _anchor = Snapshot(model, "l2");

    public override string Name => "l2";

    public override Tensor? ParameterPenalty(LlamaForCausalLM model) => WeightedDistance(model, _anchor, null) * (Strength / 2);

    public override void Dispose()
    {
        foreach (var t in _anchor.Values) t.Dispose();
    }
}

/// <summary>
/// Elastic weight consolidation: λ/2 · Σ F_i (θ_i − θ*_i)², with F the diagonal empirical Fisher of the
/// previous stage's data: the mean over examples of the squared gradient of each example's mean
/// token log-likelihood, at the anchor weights.
/// </summary>
public sealed class EwcRegularizer : Regularizer
{
    readonly Dictionary<string, Tensor> _anchor;
    readonly Dictionary<string, Tensor> _fisher;

    public EwcRegularizer(LlamaForCausalLM model, IReadOnlyList<EncodedExample> previousData, int maxExamples = 256)
    {
        _anchor = Snapshot(model, "ewc");
        _fisher = _anchor.ToDictionary(kv => kv.Key, kv => zeros_like(kv.Value).DetachFromDisposeScope());
        var parameters = model.named_parameters().Where(p => _anchor.ContainsKey(p.name)).ToList();
        var sample = previousData.Take(maxExamples).ToList();
        if (sample.Count == 0) throw new ArgumentException("EWC needs the previous stage's data to estimate the Fisher information");
        foreach (var example in sample)
        {
            using var scope = NewDisposeScope();
            var batch = PaddedBatch.From([example], 0);
            var (ids, labels) = batch.ToTensors(model.Device);
            foreach (var (_, p) in parameters) p.grad?.zero_();
            var (sum, tokens) = CausalLmLoss.Sum(model, ids, labels);
            if (tokens == 0) continue;
            (sum / tokens).backward();
            using var noGrad = no_grad();
            foreach (var (name, p) in parameters)
                if (p.grad is { } g) _fisher[name].add_(g.to(ScalarType.Float32).pow(2) / sample.Count);
        }
        foreach (var (_, p) in parameters) p.grad?.zero_();
    }

    public override string Name => "ewc";

    /// <summary>The diagonal Fisher estimate of one parameter.</summary>
    public Tensor Fisher(string name) => _fisher[name];

    public override Tensor? ParameterPenalty(LlamaForCausalLM model) => WeightedDistance(model, _anchor, _fisher) * (Strength / 2);

    public override void Dispose()
    {
        foreach (var t in _anchor.Values.Concat(_fisher.Values)) t.Dispose();
    }
}

/// <summary>
/// KL to the frozen previous model on the current data: λ · KL(p_prev ‖ p_current), summed over the
/// labelled positions and divided by the step's label tokens (the same normalisation as the loss).
/// The regularizer owns the frozen model and disposes it.
/// </summary>
public sealed class KlRegularizer(LlamaForCausalLM frozenPrevious) : Regularizer
{
    public override string Name => "kl";

    public override Tensor? OutputPenalty(Tensor inputIds, Tensor labels, Tensor logits, long groupTokens, IReadOnlyList<int>? packed = null)
    {
        using var scope = NewDisposeScope();
        Tensor reference;
        using (no_grad()) reference = CausalLmLoss.AtLabels(frozenPrevious, inputIds, labels, packed).Logits.log_softmax(-1);
        var current = logits.log_softmax(-1);
        var kl = (reference.exp() * (reference - current)).sum();
        return (kl * (Strength / Math.Max(1, groupTokens))).MoveToOuterDisposeScope();
    }

    public override void Dispose() => frozenPrevious.Dispose();
}
