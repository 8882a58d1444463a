using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text.RegularExpressions;
using Remix.Checkpoints.SafeTensors;
using Remix.Checkpoints;
using Remix.IO;
using Remix.Models;
using static TorchSharp.torch;
using Linear = Remix.Models.Linear;
using Parameter = TorchSharp.Modules.Parameter;

namespace Remix.Training;

/// <summary>
/// LoRA fine-tuning: attach low-rank adapters to chosen projections (q_proj and v_proj by default, as
/// PEFT does), train only them, then merge them into the weights or save them as a PEFT adapter
/// (<c>adapter_model.safetensors</c> + <c>adapter_config.json</c>).
/// </summary>
public static partial class Lora
{
    public const string AdapterWeightsFile = "adapter_model.safetensors";
    public const string AdapterConfigFile = "adapter_config.json";

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

    static int Attach(LlamaForCausalLM model, int rank, double alpha, bool rankStabilized, Func<string, bool> targeted, long seed)
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

    /// <summary>
    /// Merges the adapters (<see cref="Merge"/>) and replaces <paramref name="directory"/> with the full
    /// merged checkpoint — without the adapter files, which would otherwise be applied a second time.
    /// </summary>
    public static void MergeAndSave(LlamaForCausalLM model, string directory, string? tokenizerSource)
    {
        Merge(model);
        IO.AtomicDirectory.Write(directory, tmp => HfCheckpoint.Save(model, tmp, tokenizerSource));
    }

    /// <summary>Writes the adapters in PEFT's layout, loadable with <c>PeftModel.from_pretrained(base, dir)</c>.</summary>
    public static void SaveAdapter(LlamaForCausalLM model, string directory, string? baseModel = null)
    {
        var adapters = Projections(model).Where(p => p.Linear.Adapter is not null).ToList();
        if (adapters.Count == 0) throw new InvalidOperationException("the model has no LoRA adapters to save");
        var first = adapters[0].Linear.Adapter!;
        SafeTensorsWriter.Write(Path.Combine(directory, AdapterWeightsFile), [.. TrainableParameters(model).Select(p => ($"base_model.model.{p.Name}", (Tensor)p.Parameter))]);
        var config = new JsonObject
        {
            ["peft_type"] = "LORA", ["task_type"] = "CAUSAL_LM", ["r"] = first.Rank, ["lora_alpha"] = first.Alpha, ["use_rslora"] = first.RankStabilized,
            ["lora_dropout"] = 0.0, ["bias"] = "none", ["fan_in_fan_out"] = false, ["inference_mode"] = true,
            ["target_modules"] = new JsonArray([.. adapters.Select(a => a.Name[(a.Name.LastIndexOf('.') + 1)..]).Distinct().Order().Select(n => (JsonNode)n)]),
            ["base_model_name_or_path"] = baseModel,
        };
        AtomicFile.WriteAllText(Path.Combine(directory, AdapterConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Whether <paramref name="directory"/> holds a PEFT adapter (its weights or its config).</summary>
    public static bool HoldsAdapter(string directory) =>
        File.Exists(Path.Combine(directory, AdapterWeightsFile)) || File.Exists(Path.Combine(directory, AdapterConfigFile));

    /// <summary>
    /// Attaches and fills trainable adapters from a PEFT adapter directory (a resumed LoRA training). Adapters
    /// already attached must have the adapter's rank, alpha and projections.
    /// </summary>
    public static void LoadAdapter(LlamaForCausalLM model, string directory)
    {
        var config = PeftAdapterConfig.Load(directory);
        var projections = Projections(model).ToList();
        config.CheckEveryTargetMatches([.. projections.Select(p => p.Name)]);
        if (!HasAdapters(model)) Attach(model, config.Rank, config.Alpha, config.RankStabilized, config.Targets, seed: 0);
        else if (projections.Select(p => p.Linear.Adapter).OfType<LoraAdapter>().FirstOrDefault(a => a.Rank != config.Rank || a.Alpha != config.Alpha || a.RankStabilized != config.RankStabilized) is { } other)
            // Resuming with other adapter settings would go on training at another scale (alpha/rank) without a word.
            throw new InvalidInputException(config.File, $"written for adapters of {Describe(config.Rank, config.Alpha, config.RankStabilized)}, but the model has {Describe(other.Rank, other.Alpha, other.RankStabilized)}; use the same --lora");
        var adapted = projections.Where(p => p.Linear.Adapter is not null).ToList();
        if (adapted.Select(p => p.Name).FirstOrDefault(n => !config.Targets(n)) is { } extra)
            throw new InvalidInputException(config.File, $"field 'target_modules': written for adapters on {config.TargetsText}, but the model also has one on {extra}; use the same --lora-targets");
        if (projections.Where(p => p.Linear.Adapter is null).Select(p => p.Name).FirstOrDefault(config.Targets) is { } missing)
            throw new InvalidInputException(config.File, $"field 'target_modules': written for adapters on {config.TargetsText}, but the model has none on {missing}; use the same --lora-targets");
        using var file = OpenAdapterWeights(directory);
        var keys = AdapterTensorKeys(file, config, adapted, projections);
        using var noGrad = no_grad();
        foreach (var (name, linear) in adapted)
        {
            using (var a = file.Read(keys[name].A, linear.Adapter!.A.dtype, linear.Adapter.A.device)) linear.Adapter.A.copy_(a);
            using (var b = file.Read(keys[name].B, linear.Adapter.B.dtype, linear.Adapter.B.device)) linear.Adapter.B.copy_(b);
        }
    }

    /// <summary>
    /// Merges the PEFT adapter of <paramref name="directory"/> into <paramref name="model"/> (W' = W + scaling · B A, see
    /// <see cref="Merge"/>) when the directory holds one: what loading a LoRA training's output for use does.
    /// Returns what was applied, or null when the directory holds no adapter.
    /// </summary>
    public static AppliedAdapter? MergeAdapter(LlamaForCausalLM model, string directory)
    {
        if (!HoldsAdapter(directory)) return null;
        if (HasAdapters(model)) throw new InvalidOperationException("the model already has LoRA adapters attached; merge them before merging another adapter");
        var config = PeftAdapterConfig.Load(directory);
        var projections = Projections(model).ToList();
        config.CheckEveryTargetMatches([.. projections.Select(p => p.Name)]);
        var targeted = projections.Where(p => config.Targets(p.Name)).ToList();
        using var file = OpenAdapterWeights(directory);
        var keys = AdapterTensorKeys(file, config, targeted, projections);
        using (no_grad())
            foreach (var (name, linear) in targeted)
            {
                // float32 whatever the model's dtype: the update is computed in float32 (see Merge).
                var device = linear.Weight.device;
                linear.Adapter = new LoraAdapter(file.Read(keys[name].A, ScalarType.Float32, device), file.Read(keys[name].B, ScalarType.Float32, device), config.Alpha)
                    { RankStabilized = config.RankStabilized };
            }
        Merge(model);
        return new AppliedAdapter(config, targeted.Count);
    }

    static SafeTensorsFile OpenAdapterWeights(string directory)
    {
        var path = Path.Combine(directory, AdapterWeightsFile);
        if (!File.Exists(path) && File.Exists(Path.Combine(directory, "adapter_model.bin")))
            throw new InvalidInputException(Path.Combine(directory, "adapter_model.bin"), $"Remix reads adapters from {AdapterWeightsFile}, not pickled files; save the adapter with safe_serialization=True");
        return SafeTensorsFile.Open(path);
    }

    /// <summary>
    /// The keys of the lora_A and lora_B tensors of each of <paramref name="adapted"/> in the adapter file, named as PEFT
    /// names them (<c>base_model.model.MODULE.lora_A.weight</c>, or <c>.lora_A.default.weight</c>). Refuses a file that
    /// lacks one of a pair, holds a tensor for anything else, or has a shape that does not fit the projection.
    /// </summary>
    static Dictionary<string, (string A, string B)> AdapterTensorKeys(SafeTensorsFile file, PeftAdapterConfig config,
        IReadOnlyList<(string Name, Linear Linear)> adapted, IReadOnlyList<(string Name, Linear Linear)> projections)
    {
        var adaptedNames = adapted.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var found = new Dictionary<(string Module, string Part), string>();
        foreach (var tensor in file.Tensors)
        {
            if (AdapterTensorName().Match(tensor.Name) is not { Success: true } m)
                throw new InvalidInputException(file.Path, $"unexpected tensor '{tensor.Name}': expected only base_model.model.MODULE.lora_A.weight and .lora_B.weight tensors of a LoRA adapter");
            var (module, part) = (m.Groups["module"].Value, m.Groups["part"].Value);
            if (!adaptedNames.Contains(module))
                throw new InvalidInputException(file.Path, projections.Any(p => p.Name == module)
                    ? $"tensor '{tensor.Name}': expected tensors only for the projections that adapter_config.json's target_modules ({config.TargetsText}) names, found one for {module}"
                    : $"tensor '{tensor.Name}': expected a projection of the model, found '{module}', which the model has no projection named");
            if (!found.TryAdd((module, part), tensor.Name))
                throw new InvalidInputException(file.Path, $"tensor '{tensor.Name}': expected one {part} weight of {module}, found also '{found[(module, part)]}'");
        }
        var keys = new Dictionary<string, (string A, string B)>();
        foreach (var (name, linear) in adapted)
        {
            string Key(string part, long[] shape)
            {
                if (!found.TryGetValue((name, part), out var key))
                    throw new InvalidInputException(file.Path, $"the adapter lacks tensor 'base_model.model.{name}.{part}.weight', which adapter_config.json's target_modules ({config.TargetsText}) implies");
                var actual = file.Info(key).Shape;
                if (!actual.SequenceEqual(shape))
                    throw new InvalidInputException(file.Path, $"tensor '{key}': expected shape [{string.Join(", ", shape)}] from the projection and adapter_config.json's r, found [{string.Join(", ", actual)}]");
                return key;
            }
            keys[name] = (Key("lora_A", [config.Rank, linear.Weight.shape[1]]), Key("lora_B", [linear.Weight.shape[0], config.Rank]));
        }
        return keys;
    }

    [GeneratedRegex(@"\Abase_model\.model\.(?<module>.+)\.(?<part>lora_A|lora_B)(?:\.default)?\.weight\z", RegexOptions.CultureInvariant)]
    private static partial Regex AdapterTensorName();

    static string Describe(int rank, double alpha, bool rankStabilized) =>
        $"rank {rank.ToString(CultureInfo.InvariantCulture)} and alpha {alpha.ToString(CultureInfo.InvariantCulture)}{(rankStabilized ? " (rsLoRA)" : "")}";
}
