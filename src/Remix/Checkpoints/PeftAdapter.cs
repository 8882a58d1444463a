using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text.RegularExpressions;
using Remix.Checkpoints.SafeTensors;
using Remix.IO;
using Remix.Models;
using static TorchSharp.torch;
using Linear = Remix.Models.Linear;

namespace Remix.Checkpoints;

/// <summary>
/// A model's LoRA adapters (<see cref="Lora"/>) as a PEFT adapter folder: <c>adapter_model.safetensors</c> +
/// <c>adapter_config.json</c>, loadable with <c>PeftModel.from_pretrained(base, dir)</c>; read back to resume a LoRA
/// training, or merged into a model's weights for use.
/// </summary>
public static partial class PeftAdapter
{
    public const string WeightsFile = "adapter_model.safetensors";
    public const string ConfigFile = "adapter_config.json";

    /// <summary>
    /// Merges the adapters (<see cref="Lora.Merge"/>) and replaces <paramref name="directory"/> with the full
    /// merged checkpoint — without the adapter files, which would otherwise be applied a second time.
    /// </summary>
    public static void MergeAndSave(LlamaForCausalLM model, string directory, string? tokenizerSource)
    {
        Lora.Merge(model);
        IO.AtomicDirectory.Write(directory, tmp => HfCheckpoint.Save(model, tmp, tokenizerSource));
    }

    /// <summary>Writes the adapters in PEFT's layout, loadable with <c>PeftModel.from_pretrained(base, dir)</c>.</summary>
    public static void Save(LlamaForCausalLM model, string directory, string? baseModel = null)
    {
        var adapters = Lora.Projections(model).Where(p => p.Linear.Adapter is not null).ToList();
        if (adapters.Count == 0) throw new InvalidOperationException("the model has no LoRA adapters to save");
        var first = adapters[0].Linear.Adapter!;
        SafeTensorsWriter.Write(Path.Combine(directory, WeightsFile), [.. Lora.TrainableParameters(model).Select(p => ($"base_model.model.{p.Name}", (Tensor)p.Parameter))]);
        var config = new JsonObject
        {
            ["peft_type"] = "LORA", ["task_type"] = "CAUSAL_LM", ["r"] = first.Rank, ["lora_alpha"] = first.Alpha, ["use_rslora"] = first.RankStabilized,
            ["lora_dropout"] = 0.0, ["bias"] = "none", ["fan_in_fan_out"] = false, ["inference_mode"] = true,
            ["target_modules"] = new JsonArray([.. adapters.Select(a => a.Name[(a.Name.LastIndexOf('.') + 1)..]).Distinct().Order().Select(n => (JsonNode)n)]),
            ["base_model_name_or_path"] = baseModel,
        };
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Whether <paramref name="directory"/> holds a PEFT adapter (its weights or its config).</summary>
    public static bool Holds(string directory) =>
        File.Exists(Path.Combine(directory, WeightsFile)) || File.Exists(Path.Combine(directory, ConfigFile));

    /// <summary>
    /// Attaches and fills trainable adapters from a PEFT adapter directory (a resumed LoRA training). Adapters
    /// already attached must have the adapter's rank, alpha and projections.
    /// </summary>
    public static void Load(LlamaForCausalLM model, string directory)
    {
        var config = PeftAdapterConfig.Load(directory);
        var projections = Lora.Projections(model).ToList();
        config.CheckEveryTargetMatches([.. projections.Select(p => p.Name)]);
        if (!Lora.HasAdapters(model)) Lora.Attach(model, config.Rank, config.Alpha, config.RankStabilized, config.Targets, seed: 0);
        else if (projections.Select(p => p.Linear.Adapter).OfType<LoraAdapter>().FirstOrDefault(a => a.Rank != config.Rank || a.Alpha != config.Alpha || a.RankStabilized != config.RankStabilized) is { } other)
            // Resuming with other adapter settings would go on training at another scale (alpha/rank) without a word.
            throw new InvalidInputException(config.File, $"written for adapters of {Describe(config.Rank, config.Alpha, config.RankStabilized)}, but the model has {Describe(other.Rank, other.Alpha, other.RankStabilized)}; use the same --lora");
        var adapted = projections.Where(p => p.Linear.Adapter is not null).ToList();
        if (adapted.Select(p => p.Name).FirstOrDefault(n => !config.Targets(n)) is { } extra)
            throw new InvalidInputException(config.File, $"field 'target_modules': written for adapters on {config.TargetsText}, but the model also has one on {extra}; use the same --lora-targets");
        if (projections.Where(p => p.Linear.Adapter is null).Select(p => p.Name).FirstOrDefault(config.Targets) is { } missing)
            throw new InvalidInputException(config.File, $"field 'target_modules': written for adapters on {config.TargetsText}, but the model has none on {missing}; use the same --lora-targets");
        using var file = OpenWeights(directory);
        var keys = TensorKeys(file, config, adapted, projections);
        using var noGrad = no_grad();
        foreach (var (name, linear) in adapted)
        {
            using (var a = file.Read(keys[name].A, linear.Adapter!.A.dtype, linear.Adapter.A.device)) linear.Adapter.A.copy_(a);
            using (var b = file.Read(keys[name].B, linear.Adapter.B.dtype, linear.Adapter.B.device)) linear.Adapter.B.copy_(b);
        }
    }

    /// <summary>
    /// Merges the PEFT adapter of <paramref name="directory"/> into <paramref name="model"/> (W' = W + scaling · B A, see
    /// <see cref="Lora.Merge"/>) when the directory holds one: what loading a LoRA training's output for use does.
    /// Returns what was applied, or null when the directory holds no adapter.
    /// </summary>
    public static AppliedAdapter? Merge(LlamaForCausalLM model, string directory)
    {
        if (!Holds(directory)) return null;
        if (Lora.HasAdapters(model)) throw new InvalidOperationException("the model already has LoRA adapters attached; merge them before merging another adapter");
        var config = PeftAdapterConfig.Load(directory);
        var projections = Lora.Projections(model).ToList();
        config.CheckEveryTargetMatches([.. projections.Select(p => p.Name)]);
        var targeted = projections.Where(p => config.Targets(p.Name)).ToList();
        using var file = OpenWeights(directory);
        var keys = TensorKeys(file, config, targeted, projections);
        using (no_grad())
            foreach (var (name, linear) in targeted)
            {
                // float32 whatever the model's dtype: the update is computed in float32 (see Merge).
                var device = linear.Weight.device;
                linear.Adapter = new LoraAdapter(file.Read(keys[name].A, ScalarType.Float32, device), file.Read(keys[name].B, ScalarType.Float32, device), config.Alpha)
                    { RankStabilized = config.RankStabilized };
            }
        Lora.Merge(model);
        return new AppliedAdapter(config, targeted.Count);
    }

    static SafeTensorsFile OpenWeights(string directory)
    {
        var path = Path.Combine(directory, WeightsFile);
        if (!File.Exists(path) && File.Exists(Path.Combine(directory, "adapter_model.bin")))
            throw new InvalidInputException(Path.Combine(directory, "adapter_model.bin"), $"Remix reads adapters from {WeightsFile}, not pickled files; save the adapter with safe_serialization=True");
        return SafeTensorsFile.Open(path);
    }

    /// <summary>
    /// The keys of the lora_A and lora_B tensors of each of <paramref name="adapted"/> in the adapter file, named as PEFT
    /// names them (<c>base_model.model.MODULE.lora_A.weight</c>, or <c>.lora_A.default.weight</c>). Refuses a file that
    /// lacks one of a pair, holds a tensor for anything else, or has a shape that does not fit the projection.
    /// </summary>
    static Dictionary<string, (string A, string B)> TensorKeys(SafeTensorsFile file, PeftAdapterConfig config,
        IReadOnlyList<(string Name, Linear Linear)> adapted, IReadOnlyList<(string Name, Linear Linear)> projections)
    {
        var adaptedNames = adapted.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var found = new Dictionary<(string Module, string Part), string>();
        foreach (var tensor in file.Tensors)
        {
            if (TensorName().Match(tensor.Name) is not { Success: true } m)
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
    private static partial Regex TensorName();

    static string Describe(int rank, double alpha, bool rankStabilized) =>
        $"rank {rank.ToString(CultureInfo.InvariantCulture)} and alpha {alpha.ToString(CultureInfo.InvariantCulture)}{(rankStabilized ? " (rsLoRA)" : "")}";
}
