using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.IO;
using Remix.Models;
using Remix.Models.SafeTensors;
using Parameter = TorchSharp.Modules.Parameter;
using Linear = Remix.Models.Linear;
using static TorchSharp.torch;

namespace Remix.Training;

/// <summary>
/// LoRA fine-tuning: attach low-rank adapters to chosen projections (q_proj and v_proj by default, as
/// PEFT does), train only them, then merge them into the weights or save them as a PEFT adapter
/// (<c>adapter_model.safetensors</c> + <c>adapter_config.json</c>).
/// </summary>
public static class Lora
{
    public const string AdapterWeightsFile = "adapter_model.safetensors";
    public const string AdapterConfigFile = "adapter_config.json";

    /// <summary>The projections of a model by Hugging Face module name (<c>model.layers.0.self_attn.q_proj</c>).</summary>
    public static IEnumerable<(string Name, Linear Linear)> Projections(LlamaForCausalLM model) =>
        model.named_modules().Where(m => m.module is Linear).Select(m => (m.name, (Linear)m.module));

    /// <summary>Attaches adapters to every projection whose last name part is in <paramref name="targets"/> and freezes everything else.</summary>
    public static int Attach(LlamaForCausalLM model, int rank, double alpha, IReadOnlyCollection<string>? targets = null, long seed = 0)
    {
        targets ??= ["q_proj", "v_proj"];
        var generator = new Generator((ulong)seed, CPU);
        int attached = 0;
        foreach (var (name, linear) in Projections(model))
        {
            if (!targets.Contains(name[(name.LastIndexOf('.') + 1)..]) || linear.Adapter is not null) continue;
            linear.Adapter = new LoraAdapter(linear.Weight.shape[1], linear.Weight.shape[0], rank, alpha, generator, model.Device, model.DType);
            attached++;
        }
        if (attached == 0) throw new InvalidInputException("--lora-targets", $"no projection named {string.Join(", ", targets)} in the model");
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

    /// <summary>Folds every adapter into its weight (W += scaling · B A), removes the adapters and unfreezes the model.</summary>
    public static void Merge(LlamaForCausalLM model)
    {
        using var noGrad = no_grad();
        foreach (var (_, linear) in Projections(model))
        {
            if (linear.Adapter is not { } adapter) continue;
            using (var delta = adapter.Delta()) linear.Weight.add_(delta.to(linear.Weight.dtype));
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
            ["peft_type"] = "LORA", ["task_type"] = "CAUSAL_LM", ["r"] = first.Rank, ["lora_alpha"] = first.Alpha,
            ["lora_dropout"] = 0.0, ["bias"] = "none", ["fan_in_fan_out"] = false, ["inference_mode"] = true,
            ["target_modules"] = new JsonArray([.. adapters.Select(a => a.Name[(a.Name.LastIndexOf('.') + 1)..]).Distinct().Order().Select(n => (JsonNode)n)]),
            ["base_model_name_or_path"] = baseModel,
        };
        AtomicFile.WriteAllText(Path.Combine(directory, AdapterConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Attaches and fills adapters from a PEFT adapter directory.</summary>
    public static void LoadAdapter(LlamaForCausalLM model, string directory)
    {
        var configPath = Path.Combine(directory, AdapterConfigFile);
        using var doc = JsonFields.ParseFile(configPath);
        var f = new JsonFields(doc.RootElement, configPath);
        int rank = f.RequiredInt("r", 1);
        double alpha = f.OptionalDouble("lora_alpha", positive: true) ?? throw f.Error("lora_alpha", "a positive number", null);
        var targets = f.OptionalStringList("target_modules", "a list of module names") ?? throw f.Error("target_modules", "a list of module names", null);
        if (!HasAdapters(model)) Attach(model, rank, alpha, targets);
        else if (Projections(model).Select(p => p.Linear.Adapter).OfType<LoraAdapter>().FirstOrDefault(a => a.Rank != rank || a.Alpha != alpha) is { } other)
            // Resuming with other adapter settings would go on training at another scale (alpha/rank) without a word.
            throw new InvalidInputException(configPath, $"written for adapters of rank {rank.ToString(CultureInfo.InvariantCulture)} and alpha {alpha.ToString(CultureInfo.InvariantCulture)}, but the model has rank {other.Rank.ToString(CultureInfo.InvariantCulture)} and alpha {other.Alpha.ToString(CultureInfo.InvariantCulture)}; use the same --lora");
        using var file = SafeTensorsFile.Open(Path.Combine(directory, AdapterWeightsFile));
        using var noGrad = no_grad();
        foreach (var (name, p) in TrainableParameters(model))
        {
            var key = $"base_model.model.{name}";
            if (!file.Contains(key)) throw new InvalidInputException(file.Path, $"the adapter lacks tensor '{key}'");
            using var value = file.Read(key, p.dtype, p.device);
            if (!value.shape.SequenceEqual(p.shape)) throw new InvalidInputException(file.Path, $"tensor '{key}': expected shape [{string.Join(", ", p.shape)}], found [{string.Join(", ", value.shape)}]");
            p.copy_(value);
        }
    }
}
