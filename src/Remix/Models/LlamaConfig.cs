using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.IO;
using Remix.Runtime;

namespace Remix.Models;

/// <summary>
/// The shape of a Llama-family decoder, read from and written to a Hugging Face <c>config.json</c>.
/// Covers Llama 2/3, Mistral (Llama-shaped) and Qwen2 (q/k/v bias).
/// </summary>
public sealed record LlamaConfig
{
    /// <summary>Hugging Face <c>model_type</c>: <c>llama</c>, <c>mistral</c> or <c>qwen2</c>.</summary>
    public string ModelType { get; init; } = "llama";
    public int VocabSize { get; init; } = 32000;
    public int HiddenSize { get; init; } = 4096;
    public int IntermediateSize { get; init; } = 11008;
    public int NumHiddenLayers { get; init; } = 32;
    public int NumAttentionHeads { get; init; } = 32;
    public int NumKeyValueHeads { get; init; } = 32;
    /// <summary>Per-head width; Hugging Face defaults it to hidden_size / num_attention_heads.</summary>
    public int HeadDim { get; init; } = 128;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000.0;
    public RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Llama's <c>attention_bias</c>: bias on q, k, v and o projections.</summary>
    public bool AttentionBias { get; init; }
    public bool MlpBias { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    /// <summary>The dtype the checkpoint was saved in (<c>torch_dtype</c> or <c>dtype</c>).</summary>
    public string TorchDtype { get; init; } = "float32";
    /// <summary>Mistral's sliding attention window; null means full causal attention.</summary>
    public int? SlidingWindow { get; init; }
    public double InitializerRange { get; init; } = 0.02;
    /// <summary>Fields of the original config.json this type does not model, carried over on save.</summary>
    public JsonObject? ExtraFields { get; init; }

    /// <summary>Bias on the q, k and v projections (Qwen2 always, Llama with <c>attention_bias</c>).</summary>
    public bool QkvBias => ModelType == "qwen2" || AttentionBias;

    /// <summary>Bias on the output projection (Llama with <c>attention_bias</c>; never Qwen2).</summary>
    public bool OutputBias => ModelType != "qwen2" && AttentionBias;

    static readonly string[] KnownModelTypes = ["llama", "mistral", "qwen2"];

    static readonly HashSet<string> ModelledFields =
    [
        "model_type", "architectures", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta", "rope_scaling",
        "rope_parameters", "tie_word_embeddings", "attention_bias", "mlp_bias", "max_position_embeddings",
        "bos_token_id", "eos_token_id", "pad_token_id", "torch_dtype", "dtype", "sliding_window",
        "use_sliding_window", "initializer_range", "hidden_act",
    ];

    /// <summary>Reads and validates a <c>config.json</c> file.</summary>
    public static LlamaConfig Load(string path)
    {
        using var doc = JsonFields.ParseFile(path);
        return Parse(doc.RootElement, path);
    }

    /// <summary>Parses and validates a config object; errors name <paramref name="origin"/> and the field.</summary>
    public static LlamaConfig Parse(JsonElement root, string origin)
    {
        var f = new JsonFields(root, origin);
        var modelType = f.OptionalString("model_type") ?? "llama";
        if (!KnownModelTypes.Contains(modelType))
            throw f.Error("model_type", "one of llama, mistral, qwen2", f.Raw("model_type"));
        var act = f.OptionalString("hidden_act") ?? "silu";
        if (act != "silu") throw f.Error("hidden_act", "\"silu\"", f.Raw("hidden_act"));

        int hidden = f.RequiredInt("hidden_size", 1);
        int heads = f.RequiredInt("num_attention_heads", 1);
        int kvHeads = f.OptionalInt("num_key_value_heads", 1) ?? heads;
        if (heads % kvHeads != 0)
            throw new InvalidInputException(origin, $"field 'num_key_value_heads': expected a divisor of num_attention_heads ({heads}), found {kvHeads}");
        int? headDim = f.OptionalInt("head_dim", 1);
        if (headDim is null && hidden % heads != 0)
            throw new InvalidInputException(origin, $"field 'hidden_size': expected a multiple of num_attention_heads ({heads}) when head_dim is absent, found {hidden}");
        int dim = headDim ?? hidden / heads;
        if (dim % 2 != 0)
            throw new InvalidInputException(origin, $"field 'head_dim': expected an even number (rotary pairs), found {dim}");

        // transformers >= 5 writes rope_parameters (theta, type and scaling together) instead.
        var ropeParameters = f.OptionalObject("rope_parameters");
        double ropeTheta = f.OptionalDouble("rope_theta", positive: true)
            ?? ropeParameters?.OptionalDouble("rope_theta", positive: true) ?? 10000.0;
        var scaling = ParseRopeScaling(f.OptionalObject("rope_scaling") ?? ropeParameters);

        var dtypeField = f.Has("torch_dtype") ? "torch_dtype" : "dtype";
        var dtype = f.OptionalString(dtypeField) ?? "float32";
        if (DTypes.TryParse(dtype) is null) throw f.Error(dtypeField, "float32, bfloat16 or float16", f.Raw(dtypeField));

        int? window = f.OptionalInt("sliding_window", 1);
        if (modelType == "qwen2")
        {
            if (f.OptionalBool("use_sliding_window") == true)
                throw f.Error("use_sliding_window", "false (Qwen2 per-layer sliding windows are not supported)", f.Raw("use_sliding_window"));
            window = null;
        }
        else if (modelType == "llama") window = null;

        var config = new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = f.RequiredInt("vocab_size", 1),
            HiddenSize = hidden,
            IntermediateSize = f.RequiredInt("intermediate_size", 1),
            NumHiddenLayers = f.RequiredInt("num_hidden_layers", 1),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = dim,
            RmsNormEps = f.OptionalDouble("rms_norm_eps", positive: true) ?? 1e-6,
            RopeTheta = ropeTheta,
            RopeScaling = scaling,
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? false,
            AttentionBias = f.OptionalBool("attention_bias") ?? false,
            MlpBias = f.OptionalBool("mlp_bias") ?? false,
            MaxPositionEmbeddings = f.OptionalInt("max_position_embeddings", 1) ?? 2048,
            BosTokenId = f.OptionalIntOrList("bos_token_id")?.FirstOrDefault(),
            EosTokenIds = f.OptionalIntOrList("eos_token_id") ?? [],
            PadTokenId = f.OptionalIntOrList("pad_token_id")?.FirstOrDefault(),
            TorchDtype = DTypes.HfName(DTypes.TryParse(dtype)!.Value),
            SlidingWindow = window,
            InitializerRange = f.OptionalDouble("initializer_range", positive: true) ?? 0.02,
            ExtraFields = ExtraOf(root),
        };
        foreach (var (name, id) in new[] { ("bos_token_id", config.BosTokenId), ("pad_token_id", config.PadTokenId) })
            if (id is { } v && v >= config.VocabSize)
                throw new InvalidInputException(origin, $"field '{name}': expected a token id below vocab_size ({config.VocabSize}), found {v}");
        foreach (var eos in config.EosTokenIds)
            if (eos >= config.VocabSize)
                throw new InvalidInputException(origin, $"field 'eos_token_id': expected token ids below vocab_size ({config.VocabSize}), found {eos}");
        return config;
    }

    static RopeScaling? ParseRopeScaling(JsonFields? s)
    {
        if (s is not { } r) return null;
        var typeField = r.Has("rope_type") ? "rope_type" : "type";
        var type = r.OptionalString(typeField) ?? "default";
        if (!RopeScaling.Supported.Contains(type))
            throw r.Error(typeField, "one of " + string.Join(", ", RopeScaling.Supported), r.Raw(typeField));
        if (type == "default") return null;
        double factor = r.OptionalDouble("factor", positive: true) ?? throw r.Error("factor", "a positive number", null);
        if (type == "linear") return new RopeScaling(type, factor);
        var scaling = new RopeScaling(type, factor,
            r.OptionalDouble("low_freq_factor", positive: true) ?? throw r.Error("low_freq_factor", "a positive number", null),
            r.OptionalDouble("high_freq_factor", positive: true) ?? throw r.Error("high_freq_factor", "a positive number", null),
            r.OptionalInt("original_max_position_embeddings", 1) ?? throw r.Error("original_max_position_embeddings", "a positive integer", null));
        if (scaling.HighFreqFactor <= scaling.LowFreqFactor)
            throw r.Error("high_freq_factor", $"a number above low_freq_factor ({scaling.LowFreqFactor})", r.Raw("high_freq_factor"));
        return scaling;
    }

    static JsonObject? ExtraOf(JsonElement root)
    {
        var extra = new JsonObject();
        foreach (var p in root.EnumerateObject())
            if (!ModelledFields.Contains(p.Name)) extra[p.Name] = JsonNode.Parse(p.Value.GetRawText());
        return extra.Count == 0 ? null : extra;
    }

    /// <summary>The Hugging Face architecture name for <c>architectures</c>.</summary>
    public string Architecture => ModelType switch
    {
        "qwen2" => "Qwen2ForCausalLM",
        "mistral" => "MistralForCausalLM",
        _ => "LlamaForCausalLM",
    };

    /// <summary>The config as Hugging Face <c>config.json</c> text, loadable by transformers unchanged.</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["hidden_act"] = "silu",
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = RopeScaling is null ? null : RopeScalingJson(RopeScaling),
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["initializer_range"] = InitializerRange,
            ["torch_dtype"] = TorchDtype,
        };
        if (ModelType != "qwen2") o["attention_bias"] = AttentionBias;
        if (ModelType == "llama") o["mlp_bias"] = MlpBias;
        if (ModelType == "mistral") o["sliding_window"] = SlidingWindow;
        if (ModelType == "qwen2") o["use_sliding_window"] = false;
        if (BosTokenId is { } bos) o["bos_token_id"] = bos;
        if (EosTokenIds.Count == 1) o["eos_token_id"] = EosTokenIds[0];
        else if (EosTokenIds.Count > 1) o["eos_token_id"] = new JsonArray([.. EosTokenIds.Select(e => (JsonNode)e)]);
        if (PadTokenId is { } pad) o["pad_token_id"] = pad;
        if (ExtraFields is not null)
            foreach (var (key, value) in ExtraFields)
                if (!o.ContainsKey(key)) o[key] = value?.DeepClone();
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    static JsonObject RopeScalingJson(RopeScaling s)
    {
        var o = new JsonObject { ["rope_type"] = s.Type, ["factor"] = s.Factor };
        if (s.Type == "llama3")
        {
            o["low_freq_factor"] = s.LowFreqFactor;
            o["high_freq_factor"] = s.HighFreqFactor;
            o["original_max_position_embeddings"] = s.OriginalMaxPositionEmbeddings;
        }
        return o;
    }

    /// <summary>Total parameter count implied by the shape.</summary>
    public long ParameterCount
    {
        get
        {
            long h = HiddenSize, q = (long)NumAttentionHeads * HeadDim, kv = (long)NumKeyValueHeads * HeadDim, i = IntermediateSize;
            long attention = h * q + 2 * h * kv + q * h + (QkvBias ? q + 2 * kv : 0) + (OutputBias ? h : 0);
            long mlp = 3 * h * i + (MlpBias ? 2 * i + h : 0);
            long layer = attention + mlp + 2 * h;
            return NumHiddenLayers * layer + EmbeddingParameterCount + h;
        }
    }

    /// <summary>The token embeddings' parameters and the LM head's when it is not tied to them.</summary>
    public long EmbeddingParameterCount => (long)VocabSize * HiddenSize * (TieWordEmbeddings ? 1 : 2);

    /// <summary>
    /// The parameters outside the embeddings and the LM head (the layers and the final norm): the size scaling studies
    /// compare, since a small model's vocabulary would otherwise dominate it.
    /// </summary>
    public long NonEmbeddingParameterCount => ParameterCount - EmbeddingParameterCount;
}
