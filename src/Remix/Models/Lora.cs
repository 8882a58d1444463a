using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace Remix.Models;

/// <summary>
/// LoRA adapters on a model's projections: attach low-rank adapters to chosen projections (q_proj and v_proj by
/// default, as PEFT does), name what training then updates, and merge them into the weights. Reading and writing
/// them as a PEFT adapter is <see cref="Remix.Checkpoints.PeftAdapter"/>.
/// </summary>
public static class Lora
{
    /// <summary>The projections of a model by Hugging Face module name (<c>model.layers.0.self_attn.q_proj</c>).</summary>
    public static IEnumerable<(string Name, Linear Linear)> Projections(LlamaForCausalLM model) =>
        model.named_modules().Where(m => m.module is Linear).Select(m => (m.name, (Linear)m.module));

    /// <summary>The names of the Llama family's projections (the last part of their module names), the targets LoRA can take.</summary>
    public static readonly IReadOnlyList<string> ProjectionNames = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"];

    /// <summary>The projections that get adapters unless told otherwise: PEFT's default for Llama.</summary>
    public static readonly IReadOnlyList<string> DefaultTargets = ["q_proj", "v_proj"];

    /// <summary>The scale alpha unless told otherwise: twice the rank, so that alpha / rank is 2 at every rank.</summary>
    public static double DefaultAlpha(int rank) => 2.0 * rank;

    /// <summary>Attaches adapters to every projection whose last name part is in <paramref name="targets"/> and freezes everything else.</summary>
    public static int Attach(LlamaForCausalLM model, int rank, double alpha, IReadOnlyCollection<string>? targets = null, long seed = 0)
    {
        targets ??= DefaultTargets;
        // Every name must meet a projection: [q_proj, v_prj] would otherwise train q_proj alone without a word.
        var present = Projections(model).Select(p => p.Name[(p.Name.LastIndexOf('.') + 1)..]).ToHashSet();
        if (targets.Where(t => !present.Contains(t)).ToList() is { Count: > 0 } unknown)
            throw new InvalidInputException("--lora-targets", $"no projection named {string.Join(", ", unknown)} in the model (it has {string.Join(", ", present.Order())})");
        return Attach(model, rank, alpha, false, name => targets.Contains(name[(name.LastIndexOf('.') + 1)..]), seed);
    }

    /// <summary>Attaches adapters of the given settings to every projection <paramref name="targeted"/> accepts (by module name) and freezes everything else.</summary>
    internal static int Attach(LlamaForCausalLM model, int rank, double alpha, bool rankStabilized, Func<string, bool> targeted, long seed)
    {
        var generator = new Generator((ulong)seed, CPU);
        int attached = 0;
        foreach (var (name, linear) in Projections(model))
        {
            if (!targeted(name) || linear.Adapter is not null) continue;
            linear.Adapter = new LoraAdapter(linear.Weight.shape[1], linear.Weight.shape[0], rank, alpha, generator, model.Device, model.DType) { RankStabilized = rankStabilized };
            attached++;
        }
        if (attached > 0)
            foreach (var p in model.parameters()) p.requires_grad = false;
        return attached;
    }

    public static bool HasAdapters(LlamaForCausalLM model) => Projections(model).Any(p => p.Linear.Adapter is not null);

    /// <summary>What training updates: the adapters when attached (PEFT names), else every parameter of the model.</summary>
    public static List<(string Name, Parameter Parameter)> TrainableParameters(LlamaForCausalLM model)
    {
        if (!HasAdapters(model)) return [.. model.named_parameters().Where(p => p.parameter.requires_grad)];
        return [.. Projections(model).Where(p => p.Linear.Adapter is not null).SelectMany(p => new[]
        {
            ($"{p.Name}.lora_A.weight", p.Linear.Adapter!.A),
            ($"{p.Name}.lora_B.weight", p.Linear.Adapter!.B),
        })];
    }

    /// <summary>
    /// Folds every adapter into its weight (W += scaling · B A, the update computed in float32 and added to the weight
    /// in its dtype, as PEFT merges), removes the adapters and unfreezes the model.
    /// </summary>
    public static void Merge(LlamaForCausalLM model)
    {
        using var noGrad = no_grad();
        foreach (var (_, linear) in Projections(model))
        {
            if (linear.Adapter is not { } adapter) continue;
            using (var delta = adapter.Delta()) linear.Weight.add_(delta);
            linear.Adapter = null;
            adapter.Dispose();
        }
        foreach (var p in model.parameters()) p.requires_grad = true;
    }
}
