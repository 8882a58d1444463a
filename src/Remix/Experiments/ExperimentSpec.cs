using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json;
using Remix.Data.Bundled;
using Remix.Data.Mixing;
using Remix.Data;
using Remix.IO;
using Remix.Models;
using Remix.Runtime;
using Remix.Training;

namespace Remix.Experiments;

/// <summary>A mixing ingredient of a stage: <c>random</c> word sequences or <c>generic</c> passages from a corpus file.</summary>
public sealed record MixSpec(string Source, double Ratio, string? File = null, int PromptWords = 10, int TargetWords = 10)
{
    /// <summary>
    /// The source a run draws from, read from <see cref="File"/>: a word list of at least two words, or a corpus with
    /// documents of at least the 100 words a passage takes; either is refused in one line naming the file.
    /// </summary>
    public IMixingSource CreateSource() => Source == "random"
        ? new RandomWordSource(RandomWordSource.LoadWordList(File!), PromptWords, TargetWords)
        : new GenericPassageSource(DatasetReader.Read(File!).Examples, origin: File!);
}

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
    /// <summary>The files of the stage's set, each with how to read it.</summary>
    public required IReadOnlyList<DataSpec> Data { get; init; }
    /// <summary>Use only the first N examples of the data.</summary>
    public int? Limit { get; init; }
    public IReadOnlyList<MixSpec> Mix { get; init; } = [];
    public ReplaySpec? Replay { get; init; }
    public RegularizerSpec? Regularizer { get; init; }
    public LoraSpec? Lora { get; init; }
    public TrainingOptions Recipe { get; init; } = new();

    /// <summary>
    /// The stage as the spec file writes it (null when built in code), so that what only reading its files reveals, such
    /// as a set smaller than its limit, is reported at the key concerned. Where a stage is written is no part of what it
    /// trains: compare stages by their other fields.
    /// </summary>
    [JsonIgnore]
    public SpecObject? Source { get; init; }

    /// <summary>
    /// The set the stage memorizes and is evaluated on: its data files read with their options, documents left out
    /// (a corpus only feeds generic mixing), then the first <see cref="Limit"/> examples.
    /// </summary>
    public List<Example> ReadSet() => SetOf(Data.Select(d => d.Read()));

    /// <summary>The stage's set (as <see cref="ReadSet"/>) from its data files already read, in <see cref="Data"/>'s order.</summary>
    public List<Example> SetOf(IEnumerable<DatasetReadResult> files) =>
        [.. files.SelectMany(f => f.Examples).Where(e => e.Kind != ExampleKind.Document).Take(Limit ?? int.MaxValue)];
}

/// <summary>
/// A multi-stage continual-learning experiment, read from YAML or JSON: a base model, seeds, a default
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

    /// <summary>Whether the models may run on Remix's CPU kernels (<c>auto</c>) or only on TorchSharp's operations (<c>reference</c>).</summary>
    public KernelChoice Kernels { get; init; } = KernelChoice.Auto;

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
    /// Reads and validates a spec (YAML, or JSON, which YAML reads too). Every error is one line naming the file, line,
    /// column and key path; unknown keys are refused. With <paramref name="requireFiles"/> false (validating a spec
    /// meant for another machine), paths that do not exist here are kept and listed in <see cref="MissingPaths"/>.
    /// </summary>
    public static ExperimentSpec Load(string path, bool requireFiles = true)
    {
        var root = SpecNode.Load(path).AsObject("a spec (name, base_model, recipe, stages, ...)");
        var json = root.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        return Parse(root, Path.GetDirectoryName(Path.GetFullPath(path))!, requireFiles) with { Json = json };
    }

    /// <summary>The spec from its top-level mapping; relative paths are resolved against <paramref name="baseDirectory"/>.</summary>
    public static ExperimentSpec Parse(SpecObject root, string baseDirectory, bool requireFiles = true)
    {
        var missing = new List<string>();
        string ResolvePath(SpecNode node, string? given = null)
        {
            var p = given ?? node.AsString("a path");
            var resolved = Path.GetFullPath(BundledPaths.Resolve(p, baseDirectory));
            if (File.Exists(resolved) || Directory.Exists(resolved)) return resolved;
            if (!requireFiles) { missing.Add(p); return resolved; }
            throw node.Error($"path '{p}' not found next to the spec or among the bundled files");
        }

        var name = root.String("name") ?? Path.GetFileNameWithoutExtension(root.Node.File);
        var baseModel = ResolvePath(root.Require("base_model", "a checkpoint directory"));
        // Checked for spelling only: whether the device exists is found out when the run loads the model.
        var device = root.Get("device") is { } d ? Devices.Normalize(d.AsString(Devices.DeviceNames)) ?? throw d.Expected(Devices.DeviceNames) : "cpu";
        var dtype = root.Get("dtype") is { } t ? Devices.IsDTypeOption(t.AsString(Devices.DTypeNames)) ? t.AsString() : throw t.Expected(Devices.DTypeNames) : "auto";
        var kernels = root.Get("kernels") is { } kn ? KernelChoices.TryParse(kn.AsString(KernelChoices.Expected)) ?? throw kn.Expected(KernelChoices.Expected) : KernelChoice.Auto;
        var seeds = ReadSeeds(root);
        bool joint = root.Bool("joint") ?? false, logitLens = root.Bool("logit_lens") ?? false;
        var defaults = ReadRecipe(root.Object("recipe"), new TrainingOptions(), dtype);
        var stagesNode = root.Require("stages", "a non-empty list of stages");
        var stageObjects = root.Objects("stages", "a non-empty list of stages", "a stage (name, data, ...)")!;
        if (stageObjects.Count == 0) throw stagesNode.Expected("a non-empty list of stages");
        var stages = new List<StageSpec>();
        foreach (var stage in stageObjects) stages.Add(ReadStage(stage, stages, defaults, dtype, ResolvePath));
        root.RefuseUnknownKeys();
        return new ExperimentSpec
        {
            Name = name, BaseModel = baseModel, Seeds = seeds, Stages = stages, Device = device, DType = dtype, Kernels = kernels,
            MissingPaths = missing, Joint = joint, LogitLens = logitLens,
        };
    }

    /// <summary>
    /// The spec with <paramref name="kernels"/> in place of its own (<c>remix run --kernels</c>), written into <see cref="Json"/> too,
    /// so that the run folder's config snapshot says which path ran.
    /// </summary>
    public ExperimentSpec WithKernels(KernelChoice kernels)
    {
        var json = JsonNode.Parse(Json)?.AsObject() ?? new JsonObject();
        json["kernels"] = KernelChoices.Name(kernels);
        return this with { Kernels = kernels, Json = json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) };
    }

    /// <summary><c>seeds: [..]</c>, or one <c>seed: N</c>; by default seed 0.</summary>
    static List<int> ReadSeeds(SpecObject root)
    {
        var list = root.Get("seeds");
        var one = root.Int("seed");
        if (list is not null && one is not null) throw root.Error("seed", "expected 'seeds' or 'seed', not both");
        if (list is null) return [one ?? 0];
        var items = list.AsList("a non-empty list of integers");
        return items.Count > 0 ? [.. items.Select(i => i.AsInt())] : throw list.Expected("a non-empty list of integers");
    }

    /// <summary>One item of <c>stages</c>; <paramref name="earlier"/> are the stages before it (for replay and names).</summary>
    static StageSpec ReadStage(SpecObject s, IReadOnlyList<StageSpec> earlier, TrainingOptions defaults, string dtype, Func<SpecNode, string?, string> resolve)
    {
        var nameNode = s.Get("name");
        var name = nameNode?.AsString() ?? $"stage{earlier.Count + 1}";
        if (earlier.Any(e => e.Name == name))
            throw (nameNode ?? s.Node).Error($"stage names must differ: \"{name}\" names an earlier stage too");
        int? limit = s.Int("limit", 1);
        var mix = s.Objects("mix", "a list of {source, ratio[, file]}", "a mixing source {source, ratio[, file]}")?.Select(m => ReadMix(m, resolve)).ToList() ?? [];
        var replay = s.Object("replay") is { } rf ? ReadReplay(rf, earlier) : null;
        RegularizerSpec? regularizer = null;
        if (s.Object("regularizer") is { } g)
        {
            regularizer = new RegularizerSpec(g.Require("type", "l2, ewc or kl").AsChoice("l2", "ewc", "kl"), g.Require("strength", "a non-negative number").AsNumber(0));
            g.RefuseUnknownKeys();
        }
        LoraSpec? lora = null;
        if (s.Object("lora") is { } l)
        {
            var alpha = l.Number("alpha", 0, aboveMin: true);
            var targets = l.Get("targets") is { } tn ? tn.AsList("a non-empty list of projection names") is { Count: > 0 } items
                ? [.. items.Select(i => i.AsChoice(Lora.ProjectionNames))] : throw tn.Expected("a non-empty list of projection names")
                : new List<string>(Lora.DefaultTargets);
            int rank = l.Require("rank", "a positive integer").AsInt(1);
            l.RefuseUnknownKeys();
            lora = new LoraSpec(rank, alpha ?? Lora.DefaultAlpha(rank), targets);
            if (regularizer is { Type: "l2" or "ewc" })
                throw s.Get("regularizer")!.Expected($"kl or none with 'lora' ({Regularizer.WeightAnchoredWithLora})");
        }
        var recipe = ReadRecipe(s.Object("recipe"), defaults, dtype);
        var data = ReadData(s.Require("data", DataExpected), resolve);
        s.RefuseUnknownKeys();
        return new StageSpec
        {
            Name = name, Data = data, Limit = limit, Mix = mix, Replay = replay,
            Regularizer = regularizer, Lora = lora, Recipe = recipe, Source = s,
        };
    }

    const string DataExpected = "a file, {file, format, skip_bad, templates} or a non-empty list of them";

    /// <summary>A stage's <c>data</c>: one file, one <c>{file, ...}</c> object, or a non-empty list mixing the two forms.</summary>
    static List<DataSpec> ReadData(SpecNode node, Func<SpecNode, string?, string> resolve)
    {
        DataSpec One(SpecNode item) =>
            item.IsString ? new DataSpec(resolve(item, null))
            : item.IsObject ? ReadDataObject(item.AsObject(), resolve)
            : throw item.Expected(node.IsList ? "a file or {file, format, skip_bad, templates}" : DataExpected);
        if (!node.IsList) return [One(node)];
        var items = node.AsList();
        return items.Count > 0 ? [.. items.Select(One)] : throw node.Expected(DataExpected);
    }

    /// <summary><c>{file, format, skip_bad, templates}</c>: the dataset read options of <c>remix data inspect</c>, for one file.</summary>
    static DataSpec ReadDataObject(SpecObject d, Func<SpecNode, string?, string> resolve)
    {
        var format = d.Get("format") is { } f ? FormatName(f) : null;
        var skipBad = d.Bool("skip_bad") ?? false;
        var templates = d.Get("templates") is { } t ? resolve(t, null) : null;
        var file = resolve(d.Require("file", "a data file"), null);
        d.RefuseUnknownKeys();
        return new DataSpec(file, format, skipBad, templates);
    }

    /// <summary>A dataset format name, as <c>--format</c> takes it (any case); an unknown one gets the nearest name as a hint.</summary>
    static string FormatName(SpecNode node)
    {
        var names = DatasetReader.FormatNames.ToList();
        var given = node.AsString($"a dataset format ({string.Join(", ", names)})");
        if (names.FirstOrDefault(n => n.Equals(given, StringComparison.OrdinalIgnoreCase)) is { } name) return name;
        throw node.Error(NearestName.Closest(given, names) is { } near
            ? $"unknown format \"{given}\" (did you mean '{near}'?)"
            : $"unknown format \"{given}\" (expected {SpecNode.Alternatives(names)})");
    }

    static MixSpec ReadMix(SpecObject m, Func<SpecNode, string?, string> resolve)
    {
        var file = m.Get("file");
        int? promptWords = m.Int("prompt_words", 0), targetWords = m.Int("target_words", 1);
        var source = m.Require("source", "random or generic").AsChoice("random", "generic");
        var ratio = m.Require("ratio", "a non-negative number").AsNumber(0);
        m.RefuseUnknownKeys();
        if (source == "generic")
            foreach (var words in new[] { "prompt_words", "target_words" })
                if (m.Get(words) is { } given) throw given.Expected("no word counts for generic passages (always 50 words of prompt, 50 of target)");
        var path = file is not null ? resolve(file, null) : resolve(m.Node, source == "random" ? BundledPaths.WordList : BundledPaths.GenericCorpus);
        return new MixSpec(source, ratio, path, promptWords ?? 10, targetWords ?? 10);
    }

    static ReplaySpec ReadReplay(SpecObject r, IReadOnlyList<StageSpec> earlier)
    {
        var fraction = r.Require("fraction", "a non-negative number").AsNumber(0);
        var stageNode = r.Require("stage", "the name of an earlier stage");
        r.RefuseUnknownKeys();
        var stage = stageNode.AsString("the name of an earlier stage");
        if (!earlier.Any(e => e.Name == stage))
            throw stageNode.Expected(earlier.Count == 0 ? "an earlier stage's name (this is the first stage)" : $"an earlier stage's name ({string.Join(", ", earlier.Select(e => e.Name))})");
        return new ReplaySpec(stage, fraction);
    }

    /// <summary>
    /// Recipe fields (snake_case, as the <c>remix train</c> options) over <paramref name="defaults"/>: the top-level
    /// recipe over the paper's, a stage's over the top-level one, field by field. Ranges are
    /// <see cref="TrainingOptions.FirstOutOfRange"/>'s, reported at the key that set the value. A <c>precision</c> must
    /// agree with the spec's <paramref name="dtype"/> unless that is auto (then the precision sets the dtype).
    /// </summary>
    static TrainingOptions ReadRecipe(SpecObject? r, TrainingOptions defaults, string dtype)
    {
        if (r is null) return defaults;
        // A value of the wrong type is described with the range the value must also meet.
        double? Number(string key, string property) => r.Get(key)?.AsNumber(expected: TrainingOptions.Expectation(property));
        int? Int(string key, string property) => r.Get(key)?.AsInt(expected: TrainingOptions.Expectation(property));
        var betasExpected = TrainingOptions.Expectation(nameof(TrainingOptions.Beta1));
        var betas = r.Get("betas") is { } b
            ? b.AsList(betasExpected) is [var b1, var b2] ? (b1.AsNumber(expected: betasExpected), b2.AsNumber(expected: betasExpected)) : throw b.Expected(betasExpected)
            : (defaults.Beta1, defaults.Beta2);
        var options = defaults with
        {
            LearningRate = Number("lr", nameof(TrainingOptions.LearningRate)) ?? defaults.LearningRate,
            Beta1 = betas.Item1,
            Beta2 = betas.Item2,
            Epsilon = Number("eps", nameof(TrainingOptions.Epsilon)) ?? defaults.Epsilon,
            WeightDecay = Number("weight_decay", nameof(TrainingOptions.WeightDecay)) ?? defaults.WeightDecay,
            Schedule = r.Choice("schedule", "cosine", "linear", "constant") is { } schedule ? Enum.Parse<ScheduleKind>(schedule, ignoreCase: true) : defaults.Schedule,
            WarmupRatio = Number("warmup_ratio", nameof(TrainingOptions.WarmupRatio)) ?? defaults.WarmupRatio,
            ClipNorm = Number("clip", nameof(TrainingOptions.ClipNorm)) ?? defaults.ClipNorm,
            BatchSize = Int("batch_size", nameof(TrainingOptions.BatchSize)) ?? defaults.BatchSize,
            GradientAccumulation = Int("grad_accum", nameof(TrainingOptions.GradientAccumulation)) ?? defaults.GradientAccumulation,
            Epochs = Int("epochs", nameof(TrainingOptions.Epochs)) ?? defaults.Epochs,
            MaxLength = Int("max_length", nameof(TrainingOptions.MaxLength)) ?? defaults.MaxLength,
            Seed = r.Int("seed") ?? defaults.Seed,
            FixedOrder = r.Bool("fixed_order") ?? defaults.FixedOrder,
            GroupByLength = r.Bool("group_by_length") ?? defaults.GroupByLength,
            Stop = r.Get("stop") is { } stop ? StopRule.TryParse(stop.AsString(StopRule.Syntax)) ?? throw stop.Expected(StopRule.Syntax) : defaults.Stop,
            EvalEvery = Int("eval_every", nameof(TrainingOptions.EvalEvery)) ?? defaults.EvalEvery,
            SaveEvery = Int("save_every", nameof(TrainingOptions.SaveEvery)) ?? defaults.SaveEvery,
            KeepCheckpoints = r.Bool("keep_checkpoints") ?? defaults.KeepCheckpoints,
            CollectEvery = Int("collect_every", nameof(TrainingOptions.CollectEvery)) ?? defaults.CollectEvery,
            Precision = r.Get("precision") is { } precision ? Precisions.TryParse(precision.AsString(Precisions.Names)) ?? throw precision.Expected(Precisions.Names) : defaults.Precision,
        };
        r.RefuseUnknownKeys();
        if (r.Get("precision") is { } precisionNode && Precisions.Contradiction(options.Precision, dtype) is { } contradiction)
            throw precisionNode.Error(contradiction);
        if (options.FirstOutOfRange() is { } bad)
        {
            var key = RecipeKey(bad.Property);
            throw r.Get(key) is { } node ? node.Expected(bad.Expected) : r.Error(key, $"expected {bad.Expected}, found {bad.Found}");
        }
        return options;
    }

    /// <summary>The recipe key that sets a <see cref="TrainingOptions"/> property.</summary>
    static string RecipeKey(string property) => property switch
    {
        nameof(TrainingOptions.LearningRate) => "lr",
        nameof(TrainingOptions.Beta1) or nameof(TrainingOptions.Beta2) => "betas",
        nameof(TrainingOptions.Epsilon) => "eps",
        nameof(TrainingOptions.WeightDecay) => "weight_decay",
        nameof(TrainingOptions.WarmupRatio) => "warmup_ratio",
        nameof(TrainingOptions.ClipNorm) => "clip",
        nameof(TrainingOptions.BatchSize) => "batch_size",
        nameof(TrainingOptions.GradientAccumulation) => "grad_accum",
        nameof(TrainingOptions.Epochs) => "epochs",
        nameof(TrainingOptions.MaxLength) => "max_length",
        nameof(TrainingOptions.EvalEvery) => "eval_every",
        nameof(TrainingOptions.SaveEvery) => "save_every",
        nameof(TrainingOptions.CollectEvery) => "collect_every",
        _ => property,
    };
}
