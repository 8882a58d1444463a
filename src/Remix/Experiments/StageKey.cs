using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json;
using System.Text;
using Remix.IO;
using Remix.Training;

namespace Remix.Experiments;

/// <summary>
/// What a stage's training is a function of, by content: the base model's and every data and mixing file's SHA-256,
/// the spec of this and every earlier stage, the seed, device, dtype and (on CPU) the thread count and a reference kernel choice. It is a hash and
/// the named parts it was made from, so that a stage folder trained under another key can say which part changed.
/// A stage folder records its key in <see cref="FileName"/>; its evaluation, which also depends on the later stages'
/// sets, records another (<see cref="ForEvaluation"/>) in <see cref="EvaluationFileName"/>.
/// </summary>
public sealed class StageKey
{
    /// <summary>The file in a stage folder holding the key its training was started under.</summary>
    public const string FileName = "stage_key.json";

    /// <summary>The file in a stage folder holding the key of its evaluation (written after <c>evaluation.json</c>).</summary>
    public const string EvaluationFileName = "evaluation_key.json";

    StageKey(IReadOnlyList<KeyValuePair<string, string>> parts, string hash)
    {
        Parts = parts;
        Hash = hash;
    }

    /// <summary>The lowercase hex SHA-256 of <see cref="Parts"/>.</summary>
    public string Hash { get; }

    /// <summary>The parts, named as in the spec (<c>stages[0].recipe.lr</c>, <c>base_model/config.json</c>), in a fixed order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parts { get; }

    /// <summary>A key of the given parts.</summary>
    public static StageKey Of(IEnumerable<KeyValuePair<string, string>> parts)
    {
        var list = parts.ToList();
        var text = JsonSerializer.Serialize(list.Select(p => new[] { p.Key, p.Value }));
        return new StageKey(list, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))));
    }

    /// <summary>
    /// The key of the training of stage <paramref name="index"/> of <paramref name="spec"/> for <paramref name="seed"/>,
    /// with files hashed through <paramref name="hashes"/>; <paramref name="threads"/>, TorchSharp's intra-op thread
    /// count, is a part only on CPU.
    /// </summary>
    public static StageKey ForStage(ExperimentSpec spec, int index, int seed, FileHashCache hashes, int threads) =>
        Of(RunParts(spec, seed, hashes, threads).Concat(spec.Stages.Take(index + 1).SelectMany((s, i) => StageParts(s, i, hashes))));

    /// <summary>
    /// The key of a joint run's one training: every stage's parts, as for the last stage, marked joint. The joint training
    /// uses only the first stage's recipe, so this is wider than it needs to be, and that errs on the side of training again.
    /// </summary>
    public static StageKey ForJoint(ExperimentSpec spec, int seed, FileHashCache hashes, int threads) =>
        Of(ForStage(spec, spec.Stages.Count - 1, seed, hashes, threads).Parts.Prepend(KeyValuePair.Create("joint", "true")));

    /// <summary>
    /// The key of the evaluation after a stage trained under <paramref name="training"/>: every stage's set (its name,
    /// data and limit — later stages' too, as each stage's model is evaluated on all of them) and the logit lens switch.
    /// </summary>
    public static StageKey ForEvaluation(ExperimentSpec spec, StageKey training, FileHashCache hashes)
    {
        var parts = new List<KeyValuePair<string, string>> { new("training", training.Hash), new("logit_lens", spec.LogitLens ? "true" : "false") };
        foreach (var (stage, i) in spec.Stages.Select((s, i) => (s, i)))
            parts.AddRange(StageParts(stage, i, hashes).Where(p => Local(p.Key, Prefix(i)) is var local
                && (local is "name" or "limit" || local.StartsWith("data", StringComparison.Ordinal))));
        return Of(parts);
    }

    /// <summary>The prefix of stage <paramref name="index"/>'s parts.</summary>
    public static string Prefix(int index) => $"stages[{index}].";

    static IEnumerable<KeyValuePair<string, string>> RunParts(ExperimentSpec spec, int seed, FileHashCache hashes, int threads)
    {
        yield return new("seed", seed.ToString(CultureInfo.InvariantCulture));
        yield return new("device", spec.Device);
        yield return new("dtype", spec.DType);
        // CPU kernels split their reductions by thread, so 1 and 2 threads differ in the last bit (measured); a GPU's
        // kernels do not depend on the host's thread count.
        if (spec.Device == "cpu") yield return new("threads", threads.ToString(CultureInfo.InvariantCulture));
        // The kernels and TorchSharp's operations agree within float32 rounding, not bit for bit, and the point of
        // `kernels: reference` is to compare the two: a reference run that reused a stage trained on the kernels would
        // compare them with themselves. So reference is a part, on CPU only (the kernels never run on a GPU). Auto is
        // left out, as it is what every stage was trained with before the choice existed: their keys stay valid. On a
        // CPU without vector instructions auto computes what reference does, and the two only train apart, which is
        // slower, not wrong. Auto's results differ between vector widths within float32 rounding (sums in another order),
        // as they do between libtorch builds: the width is recorded in provenance, not keyed.
        if (spec.Device == "cpu" && spec.Kernels == Models.Kernels.KernelChoice.Reference) yield return new("kernels", "reference");
        foreach (var file in ModelFiles(spec.BaseModel))
            yield return new($"base_model/{Path.GetFileName(file)}", "sha256:" + hashes.Sha256(file));
    }

    /// <summary>
    /// The files of a checkpoint folder that loading it reads: the JSON files (config, tokenizer, generation config,
    /// adapter config, shard index) and the safetensors weights. Other files are left out, as they do not change the
    /// model: a README, and for Llama 3 the <c>original/</c> folder with another 16 GB of weights in Meta's format.
    /// </summary>
    static IEnumerable<string> ModelFiles(string directory) =>
        Directory.EnumerateFiles(directory)
            .Where(f => f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".safetensors", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    static readonly JsonSerializerOptions SpecJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), new StopRuleAsText() },
    };

    /// <summary>The recipe's property names that the spec spells otherwise.</summary>
    static readonly Dictionary<string, string> SpecNames = new()
    {
        ["learning_rate"] = "lr", ["clip_norm"] = "clip", ["gradient_accumulation"] = "grad_accum", ["epsilon"] = "eps",
    };

    /// <summary>
    /// Recipe fields that change how a training is kept or how much memory it takes, not what it computes: checkpoints
    /// along the way, whether they stay, and how often garbage is collected.
    /// </summary>
    static readonly HashSet<string> NotTrainingRelevant = ["save_every", "keep_checkpoints", "collect_every"];

    /// <summary>
    /// A stage's parts: every field of its spec, serialized, so that a field added to the spec later is in the key
    /// without anyone remembering to add it, less <see cref="NotTrainingRelevant"/>; files by name and content. The
    /// directory of a file is left out, so a project moved elsewhere keeps its stages; its name stays, so a changed part
    /// can be named (a renamed file trains again, which is only slower). A replayed stage's data is an earlier stage's,
    /// already in the key.
    /// </summary>
    static IEnumerable<KeyValuePair<string, string>> StageParts(StageSpec stage, int index, FileHashCache hashes)
    {
        var node = JsonSerializer.SerializeToNode(stage, SpecJson)!.AsObject();
        var recipe = new JsonObject();
        foreach (var (name, value) in node["recipe"]!.AsObject())
            if (!NotTrainingRelevant.Contains(name)) recipe[SpecNames.GetValueOrDefault(name, name)] = value?.DeepClone();
        node["recipe"] = recipe;
        // A file read as detected is its name and content alone (as before data could carry read options); read options are
        // in the key only where a file has them.
        // A LAMA file's prompts come from a relations.jsonl that may have been found beside it rather than named: that file
        // is in the key too, whichever way it was found.
        string? Templates(DataSpec d) => (d.Format ?? DetectedFormat(d.File)) == "lama-trex" ? Data.Formats.LamaTrexFormat.TemplatesFile(d.File, d.Templates) : d.Templates;
        node["data"] = new JsonArray([.. stage.Data.Select(d => d == new DataSpec(d.File) && Templates(d) is null ? (JsonNode?)FileValue(d.File, hashes) : new JsonObject
        {
            ["file"] = FileValue(d.File, hashes), ["format"] = d.Format, ["skip_bad"] = d.SkipBad,
            ["templates"] = Templates(d) is { } templates ? FileValue(templates, hashes) : null,
        })]);
        if (node["mix"] is JsonArray mixes)
            for (int m = 0; m < stage.Mix.Count; m++)
                if (stage.Mix[m].File is { } file) mixes[m]!["file"] = FileValue(file, hashes);
        var parts = new List<KeyValuePair<string, string>>();
        Flatten(node, Prefix(index)[..^1], parts);
        return parts;
    }

    /// <summary>The format a data file is detected as, or null when it cannot be told (the run's reading refuses it then).</summary>
    static string? DetectedFormat(string path)
    {
        try { return Data.DatasetReader.Detect(path).Name; }
        catch (InvalidInputException) { return null; }
    }

    /// <summary><c>NAME sha256:HEX</c>; a folder (a sharded dataset) by the hashes of its files and their relative paths.</summary>
    static string FileValue(string path, FileHashCache hashes)
    {
        if (!Directory.Exists(path)) return $"{Path.GetFileName(path)} sha256:{hashes.Sha256(path)}";
        var listing = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            listing.Append(Path.GetRelativePath(path, file).Replace('\\', '/')).Append('\t').Append(hashes.Sha256(file)).Append('\n');
        return $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(path))}/ sha256:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing.ToString())))}";
    }

    /// <summary>Leaves of a JSON tree as <c>a.b[0].c</c> = value; nulls and empty lists give no part (absent is the same as none).</summary>
    static void Flatten(JsonNode? node, string name, List<KeyValuePair<string, string>> parts)
    {
        switch (node)
        {
            case null: break;
            case JsonObject o:
                foreach (var (key, value) in o) Flatten(value, $"{name}.{key}", parts);
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++) Flatten(a[i], $"{name}[{i}]", parts);
                break;
            case JsonValue v:
                parts.Add(new(name, v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString()));
                break;
        }
    }

    sealed class StopRuleAsText : JsonConverter<StopRule>
    {
        public override StopRule Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => StopRule.Parse(reader.GetString()!);
        public override void Write(Utf8JsonWriter writer, StopRule value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }

    static string Local(string name, string prefix) => name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;

    /// <summary>
    /// What changed from <paramref name="before"/> to this key, in one line: <c>recipe.lr 0.002 -> 0.001</c>,
    /// <c>data[0] a.jsonl: content changed</c>, <c>lora added (rank 2, ...)</c>; the first three changes, then how many
    /// more. Parts under <paramref name="prefix"/> (the stage's own) are named without it.
    /// </summary>
    public string Difference(StageKey before, string prefix = "")
    {
        var old = before.Parts.ToDictionary(p => p.Key, p => p.Value);
        var now = Parts.ToDictionary(p => p.Key, p => p.Value);
        var changed = Parts.Select(p => p.Key).Concat(before.Parts.Select(p => p.Key).Where(k => !now.ContainsKey(k)))
            .Where(k => old.GetValueOrDefault(k) != now.GetValueOrDefault(k));
        var changes = new List<string>();
        var groupsDone = new HashSet<string>();
        foreach (var name in changed)
        {
            // A group (lora, replay, mix[1]) wholly added or removed is one change, not one per field.
            var local = Local(name, prefix);
            int dot = local.IndexOf('.');
            if (dot > 0 && !local.Contains('/')) // base_model/config.json is a file name, not a group
            {
                var group = name[..(name.Length - local.Length + dot)];
                bool InGroup(string k) => k.StartsWith(group + ".", StringComparison.Ordinal);
                bool inOld = old.Keys.Any(InGroup), inNow = now.Keys.Any(InGroup);
                if (!inOld || !inNow)
                {
                    if (groupsDone.Add(group))
                        changes.Add(inNow
                            ? $"{Local(group, prefix)} added ({string.Join(", ", Parts.Where(p => InGroup(p.Key)).Select(p => $"{p.Key[(group.Length + 1)..]} {Show(p.Value)}"))})"
                            : $"{Local(group, prefix)} removed");
                    continue;
                }
            }
            var (a, b) = (old.GetValueOrDefault(name), now.GetValueOrDefault(name));
            changes.Add(a is not null && b is not null && FileLabel(a) is { } fa && fa == FileLabel(b)
                ? $"{local}{(fa.Length > 0 ? " " + fa : "")}: content changed"
                : $"{local} {Show(a)} -> {Show(b)}");
        }
        if (changes.Count == 0) return Hash == before.Hash ? "nothing" : "its key was made another way";
        return string.Join("; ", changes.Take(3)) + (changes.Count > 3 ? $" and {changes.Count - 3} more" : "");
    }

    /// <summary>The name part of a file's value (<c>a.jsonl sha256:...</c>: <c>a.jsonl</c>; a model file's: empty), or null for other values.</summary>
    static string? FileLabel(string value)
    {
        int at = value.IndexOf("sha256:", StringComparison.Ordinal);
        return at < 0 ? null : value[..at].TrimEnd();
    }

    static string Show(string? value) => value is null ? "none" : FileLabel(value) is { Length: > 0 } label ? label
        : FileLabel(value) is not null ? value[..Math.Min(value.Length, "sha256:".Length + 12)] : value;

    /// <summary>Writes the key as <c>{"hash": ..., "parts": {name: value, ...}}</c>.</summary>
    public void Save(string path) =>
        AtomicFile.WriteAllText(path, new JsonObject
        {
            ["hash"] = Hash,
            ["parts"] = new JsonObject(Parts.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        }.ToJsonString(new JsonSerializerOptions(JsonOptions.Relaxed) { WriteIndented = true }) + "\n");

    /// <summary>The key saved in <paramref name="path"/>, or null when there is none.</summary>
    public static StageKey? Read(string path)
    {
        if (!File.Exists(path)) return null;
        using var doc = JsonFields.ParseFile(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("hash", out var hash) || hash.ValueKind != JsonValueKind.String
            || !root.TryGetProperty("parts", out var parts) || parts.ValueKind != JsonValueKind.Object
            || parts.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
            throw new InvalidInputException(path, "expected {\"hash\": \"...\", \"parts\": {name: value, ...}} as Remix writes it; delete the stage folder to train it again");
        return new StageKey([.. parts.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetString()!))], hash.GetString()!);
    }
}
