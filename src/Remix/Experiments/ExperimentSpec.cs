using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.Data.Bundled;
using Remix.IO;
using Remix.Runtime;
using Remix.Training;

namespace Remix.Experiments;

/// <summary>A mixing ingredient of a stage: <c>random</c> word sequences or <c>generic</c> passages from a corpus file.</summary>
public sealed record MixSpec(string Source, double Ratio, string? File = null, int PromptWords = 10, int TargetWords = 10);

/// <summary>Replay of an earlier stage's data.</summary>
public sealed record ReplaySpec(string Stage, double Fraction);

/// <summary>A penalty toward the previous stage's model: <c>l2</c>, <c>ewc</c> or <c>kl</c>.</summary>
public sealed record RegularizerSpec(string Type, double Strength);

/// <summary>LoRA for a stage; the adapters are merged at the end of the stage so the next stage starts from full weights.</summary>
public sealed record LoraSpec(int Rank, double Alpha, IReadOnlyList<string> Targets);

/// <summary>One stage: its data (the set it memorizes and is evaluated on), mixing, replay, regularizer, LoRA and recipe.</summary>
public sealed record StageSpec
{
    public required string Name { get; init; }
    public required IReadOnlyList<string> Data { get; init; }
    /// <summary>Use only the first N examples of the data.</summary>
    public int? Limit { get; init; }
    public IReadOnlyList<MixSpec> Mix { get; init; } = [];
    public ReplaySpec? Replay { get; init; }
    public RegularizerSpec? Regularizer { get; init; }
    public LoraSpec? Lora { get; init; }
    public TrainingOptions Recipe { get; init; } = new();
}

/// <summary>
/// A multi-stage continual-learning experiment, read from YAML: a base model, seeds, a default
/// recipe and the stages. Paths are relative to the spec file (or found among the bundled files).
/// </summary>
public sealed record ExperimentSpec
{
    public required string Name { get; init; }
    public required string BaseModel { get; init; }
    public IReadOnlyList<int> Seeds { get; init; } = [0];
    public required IReadOnlyList<StageSpec> Stages { get; init; }
    /// <summary>The spec as read, kept as the run directory's config snapshot.</summary>
    public string Json { get; init; } = "{}";

    /// <summary>Where the models run: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary><c>auto</c> (float32 on CPU, the checkpoint's dtype on a GPU), float32, bfloat16 or float16.</summary>
    public string DType { get; init; } = "auto";

    /// <summary>
    /// Joint training (the upper bound): one training run on every stage's data at once, with the
    /// first stage's recipe; every row of the accuracy matrix is that model's accuracy.
    /// </summary>
    public bool Joint { get; init; }

    /// <summary>
    /// After each stage, also run the logit lens (<see cref="Analysis.LogitLens"/>) on every stage's set
    /// with that stage's model: <c>stage-N-NAME/logit-lens/SET/</c>.
    /// </summary>
    public bool LogitLens { get; init; }

    /// <summary>Paths named by the spec that do not exist here (only when loaded without requiring them).</summary>
    public IReadOnlyList<string> MissingPaths { get; init; } = [];

    /// <summary>
    /// Reads and validates a spec. With <paramref name="requireFiles"/> false (validating a spec meant
    /// for another machine), paths that do not exist here are kept and listed in <see cref="MissingPaths"/>.
    /// </summary>
    public static ExperimentSpec Load(string path, bool requireFiles = true)
    {
        var node = YamlToJson.Read(path) ?? throw new InvalidInputException(path, "the file is empty");
        var json = node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        using var doc = JsonDocument.Parse(json);
        return Parse(doc.RootElement, path, Path.GetDirectoryName(Path.GetFullPath(path))!, requireFiles) with { Json = json };
    }

    public static ExperimentSpec Parse(JsonElement root, string origin, string baseDirectory, bool requireFiles = true)
    {
        var f = new JsonFields(root, origin);
        var missing = new List<string>();
        string ResolvePath(string p)
        {
            var resolved = Path.GetFullPath(BundledPaths.Resolve(p, baseDirectory));
            if (File.Exists(resolved) || Directory.Exists(resolved)) return resolved;
            if (!requireFiles) { missing.Add(p); return resolved; }
            throw new InvalidInputException(origin, $"path '{p}' not found next to the spec or among the bundled files");
        }
        var defaults = ParseRecipe(f.OptionalObject("recipe"), new TrainingOptions());
        var stagesElement = f.Raw("stages");
        if (stagesElement is not { ValueKind: JsonValueKind.Array } stagesArray || stagesArray.GetArrayLength() == 0)
            throw f.Error("stages", "a non-empty list of stages", stagesElement);
        var stages = new List<StageSpec>();
        int index = 0;
        foreach (var s in stagesArray.EnumerateArray())
        {
            var sf = new JsonFields(s, origin, $"stages[{index++}]");
            var name = sf.OptionalString("name") ?? $"stage{index}";
            var dataRaw = sf.Raw("data");
            var data = dataRaw switch
            {
                { ValueKind: JsonValueKind.String } one => [one.GetString()!],
                { ValueKind: JsonValueKind.Array } many when many.GetArrayLength() > 0 && many.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                    => many.EnumerateArray().Select(e => e.GetString()!).ToList(),
                _ => throw sf.Error("data", "a file or a list of files", dataRaw),
            };
            var mixes = new List<MixSpec>();
            if (sf.Raw("mix") is { } mixRaw)
            {
                if (mixRaw.ValueKind != JsonValueKind.Array) throw sf.Error("mix", "a list of {source, ratio[, file]}", mixRaw);
                int m = 0;
                foreach (var mix in mixRaw.EnumerateArray())
                {
                    var mf = new JsonFields(mix, origin, sf.Name($"mix[{m++}]"));
                    var source = mf.OptionalString("source");
                    if (source is not ("random" or "generic")) throw mf.Error("source", "random or generic", mf.Raw("source"));
                    double ratio = mf.OptionalDouble("ratio") ?? throw mf.Error("ratio", "a non-negative number", null);
                    if (ratio < 0) throw mf.Error("ratio", "a non-negative number", mf.Raw("ratio"));
                    var file = mf.OptionalString("file") ?? (source == "random" ? BundledPaths.WordList : BundledPaths.GenericCorpus);
                    foreach (var words in new[] { "prompt_words", "target_words" })
                        if (source == "generic" && mf.Has(words)) throw mf.Error(words, "no word counts for generic passages (always 50 words of prompt, 50 of target)", mf.Raw(words));
                    mixes.Add(new MixSpec(source, ratio, ResolvePath(file), mf.OptionalInt("prompt_words", 0) ?? 10, mf.OptionalInt("target_words", 1) ?? 10));
                }
            }
            ReplaySpec? replay = null;
            if (sf.OptionalObject("replay") is { } rf)
                replay = new ReplaySpec(rf.OptionalString("stage") ?? throw rf.Error("stage", "the name of an earlier stage", null),
                    rf.OptionalDouble("fraction") is { } fr and >= 0 ? fr : throw rf.Error("fraction", "a non-negative number", rf.Raw("fraction")));
            RegularizerSpec? regularizer = null;
            if (sf.OptionalObject("regularizer") is { } gf)
            {
                var type = gf.OptionalString("type");
                if (type is not ("l2" or "ewc" or "kl")) throw gf.Error("type", "l2, ewc or kl", gf.Raw("type"));
                regularizer = new RegularizerSpec(type, gf.OptionalDouble("strength") is { } st and >= 0 ? st : throw gf.Error("strength", "a non-negative number", gf.Raw("strength")));
            }
            LoraSpec? lora = null;
            if (sf.OptionalObject("lora") is { } lf)
            {
                int rank = lf.RequiredInt("rank", 1);
                var targets = lf.OptionalStringList("targets", "a list of projection names") ?? ["q_proj", "v_proj"];
                lora = new LoraSpec(rank, lf.OptionalDouble("alpha", positive: true) ?? 2.0 * rank, targets);
                if (regularizer is { Type: "l2" or "ewc" })
                    throw sf.Error("regularizer", $"kl or none with 'lora' ({Regularizer.WeightAnchoredWithLora})", sf.Raw("regularizer"));
            }
            stages.Add(new StageSpec
            {
                Name = name, Data = [.. data.Select(ResolvePath)], Limit = sf.OptionalInt("limit", 1), Mix = mixes, Replay = replay,
                Regularizer = regularizer, Lora = lora, Recipe = ParseRecipe(sf.OptionalObject("recipe"), defaults),
            });
        }
        foreach (var (stage, i) in stages.Select((s, i) => (s, i)))
            if (stage.Replay is { } r && !stages.Take(i).Any(e => e.Name == r.Stage))
                throw new InvalidInputException(origin, $"field 'stages[{i}].replay.stage': expected an earlier stage's name, found \"{r.Stage}\"");
        if (stages.Select(s => s.Name).Distinct().Count() != stages.Count) throw new InvalidInputException(origin, "field 'stages': stage names must differ");

        var seeds = f.Raw("seeds") is { ValueKind: JsonValueKind.Array } sd ? sd.EnumerateArray().Select(e => e.TryGetInt32(out var v) ? v : throw f.Error("seeds", "a list of integers", sd)).ToList() : [f.OptionalInt("seed") ?? 0];
        return new ExperimentSpec
        {
            Name = f.OptionalString("name") ?? Path.GetFileNameWithoutExtension(origin),
            BaseModel = ResolvePath(f.OptionalString("base_model") ?? throw f.Error("base_model", "a checkpoint directory", null)),
            Seeds = seeds,
            Stages = stages,
            // Checked for spelling only: whether the device exists is found out when the run loads the model.
            Device = f.OptionalString("device") is { } device ? Devices.Normalize(device) ?? throw f.Error("device", Devices.DeviceNames, f.Raw("device")) : "cpu",
            DType = f.OptionalString("dtype") is { } dtype ? Devices.IsDTypeOption(dtype) ? dtype : throw f.Error("dtype", Devices.DTypeNames, f.Raw("dtype")) : "auto",
            MissingPaths = missing,
            Joint = f.OptionalBool("joint") ?? false,
            LogitLens = f.OptionalBool("logit_lens") ?? false,
        };
    }

    /// <summary>Recipe fields (snake_case, as the CLI options) over <paramref name="defaults"/>.</summary>
    static TrainingOptions ParseRecipe(JsonFields? r, TrainingOptions defaults)
    {
        if (r is not { } f) return defaults;
        return (defaults with
        {
            LearningRate = f.OptionalDouble("lr", positive: true) ?? defaults.LearningRate,
            Epochs = f.OptionalInt("epochs", 1) ?? defaults.Epochs,
            BatchSize = f.OptionalInt("batch_size", 1) ?? defaults.BatchSize,
            GradientAccumulation = f.OptionalInt("grad_accum", 1) ?? defaults.GradientAccumulation,
            WarmupRatio = f.OptionalDouble("warmup_ratio") ?? defaults.WarmupRatio,
            WeightDecay = f.OptionalDouble("weight_decay") ?? defaults.WeightDecay,
            ClipNorm = f.OptionalDouble("clip") ?? defaults.ClipNorm,
            MaxLength = f.OptionalInt("max_length", 2) ?? defaults.MaxLength,
            Stop = f.OptionalString("stop") is { } stop ? StopRule.Parse(stop) : defaults.Stop,
            EvalEvery = f.OptionalInt("eval_every", 0) ?? defaults.EvalEvery,
            SaveEvery = f.OptionalInt("save_every", 0) ?? defaults.SaveEvery,
            KeepCheckpoints = f.OptionalBool("keep_checkpoints") ?? defaults.KeepCheckpoints,
            FixedOrder = f.OptionalBool("fixed_order") ?? defaults.FixedOrder,
        }).Validated();
    }
}
