using System.Text.Json;
using System.Text.RegularExpressions;
using Remix.IO;

namespace Remix.Checkpoints;

/// <summary>
/// A PEFT LoRA adapter's <c>adapter_config.json</c>, validated: rank, alpha, rsLoRA scaling and the target modules.
/// Settings that change what the adapter computes and that Remix does not implement (DoRA, per-module ranks,
/// biases, fully trained module copies, chosen layers, ...) are refused rather than ignored.
/// </summary>
public sealed record PeftAdapterConfig
{
    /// <summary>PEFT's word for every linear layer but the output layer.</summary>
    public const string AllLinear = "all-linear";

    /// <summary>The <c>adapter_config.json</c> it was read from.</summary>
    public required string File { get; init; }

    public required int Rank { get; init; }

    public required double Alpha { get; init; }

    /// <summary><c>use_rslora</c>: scale by alpha / √rank instead of alpha / rank.</summary>
    public bool RankStabilized { get; init; }

    /// <summary>Module-name suffixes (<c>q_proj</c>, <c>self_attn.v_proj</c>); empty when <see cref="TargetPattern"/> is set.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = [];

    /// <summary>A regular expression that a module's full name must match entirely (PEFT's string form), or <see cref="AllLinear"/>.</summary>
    public string? TargetPattern { get; init; }

    /// <summary>The factor of B A in W' = W + scaling · B A.</summary>
    public double Scaling => RankStabilized ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;

    /// <summary>The targets as a short text: <c>q_proj+v_proj</c>, or the pattern.</summary>
    public string TargetsText => TargetPattern ?? string.Join('+', TargetModules);

    /// <summary>Whether PEFT would adapt the module of this full name (<c>model.layers.0.self_attn.q_proj</c>).</summary>
    public bool Targets(string moduleName) => TargetPattern switch
    {
        AllLinear => moduleName != "lm_head",
        { } pattern => FullMatch(pattern).IsMatch(moduleName),
        null => TargetModules.Any(t => MatchesTarget(moduleName, t)),
    };

    /// <summary>Refuses a target that matches none of <paramref name="moduleNames"/> (the model's projections).</summary>
    public void CheckEveryTargetMatches(IReadOnlyCollection<string> moduleNames)
    {
        var unmatched = TargetPattern is not null
            ? moduleNames.Any(Targets) ? null : TargetPattern
            : TargetModules.FirstOrDefault(t => !moduleNames.Any(n => MatchesTarget(n, t)));
        if (unmatched is not null)
            throw new InvalidInputException(File, $"field 'target_modules': expected names of projections in the model, found \"{unmatched}\", which matches none of them ({string.Join(", ", moduleNames.Select(n => n[(n.LastIndexOf('.') + 1)..]).Distinct())})");
    }

    /// <summary>Reads and validates <c>adapter_config.json</c> in <paramref name="directory"/>.</summary>
    public static PeftAdapterConfig Load(string directory)
    {
        var path = Path.Combine(directory, PeftAdapter.ConfigFile);
        using var doc = JsonFields.ParseFile(path);
        var f = new JsonFields(doc.RootElement, path);
        foreach (var (field, expected, accepted) in Unsupported)
            if (f.Raw(field) is { } value && !accepted(value)) throw f.Error(field, expected, value);
        int rank = f.RequiredInt("r", 1);
        double alpha = f.OptionalDouble("lora_alpha", positive: true) ?? throw f.Error("lora_alpha", "a positive number", null);
        var config = new PeftAdapterConfig { File = path, Rank = rank, Alpha = alpha, RankStabilized = f.OptionalBool("use_rslora") ?? false };
        const string targetsExpected = "a list of module names or a regular expression";
        switch (f.Raw("target_modules"))
        {
            case { ValueKind: JsonValueKind.String } pattern:
                var text = pattern.GetString()!;
                if (text != AllLinear)
                {
                    try { _ = FullMatch(text); }
                    catch (ArgumentException e) { throw new InvalidInputException(path, $"field 'target_modules': expected {targetsExpected}, found \"{text}\", which is not a valid regular expression ({e.Message})"); }
                }
                return config with { TargetPattern = text };
            case { ValueKind: JsonValueKind.Array } list when list.GetArrayLength() > 0 && list.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String && t.GetString() != ""):
                return config with { TargetModules = [.. list.EnumerateArray().Select(t => t.GetString()!)] };
            case var other:
                throw f.Error("target_modules", targetsExpected, other);
        }
    }

    /// <summary>PEFT's rule for a <c>target_modules</c> entry: the module's full name, or its last dot-separated parts.</summary>
    static bool MatchesTarget(string moduleName, string target) =>
        moduleName == target || moduleName.EndsWith("." + target, StringComparison.Ordinal);

    static Regex FullMatch(string pattern) =>
        new($@"\A(?:{pattern})\z", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    static bool IsFalse(JsonElement v) => v.ValueKind == JsonValueKind.False;

    static bool IsEmpty(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Array => v.GetArrayLength() == 0,
        JsonValueKind.Object => !v.EnumerateObject().Any(),
        JsonValueKind.String => v.GetString() == "",
        _ => false,
    };

    /// <summary>
    /// PEFT settings that change what the adapter computes, with the value (or null) Remix accepts: anything else
    /// would be applied wrongly. Settings that only matter while training (dropout, initialisation) are ignored.
    /// </summary>
    static readonly (string Field, string Expected, Func<JsonElement, bool> Accepted)[] Unsupported =
    [
        ("peft_type", "\"LORA\" (Remix applies LoRA adapters only)", v => v.ValueKind == JsonValueKind.String && v.GetString() == "LORA"),
        ("use_dora", "false (Remix does not implement DoRA)", IsFalse),
        ("fan_in_fan_out", "false (Remix's projections store weights as [out, in])", IsFalse),
        ("bias", "\"none\" (Remix applies no trained biases)", v => v.ValueKind == JsonValueKind.String && v.GetString() == "none"),
        ("lora_bias", "false (Remix applies no trained biases)", IsFalse),
        ("rank_pattern", "an empty object (one rank for every projection)", IsEmpty),
        ("alpha_pattern", "an empty object (one alpha for every projection)", IsEmpty),
        ("modules_to_save", "an empty list (Remix applies no fully trained module copies)", IsEmpty),
        ("layers_to_transform", "null (Remix adapts the targets of every layer)", _ => false),
        ("layer_replication", "null (Remix does not replicate layers)", _ => false),
        ("exclude_modules", "an empty list (Remix excludes no modules from the targets)", IsEmpty),
        ("trainable_token_indices", "null (Remix trains no token embeddings in adapters)", IsEmpty),
        ("target_parameters", "an empty list (Remix adapts projections, not parameters)", IsEmpty),
        ("alora_invocation_tokens", "null (Remix does not implement activated LoRA)", _ => false),
    ];
}
