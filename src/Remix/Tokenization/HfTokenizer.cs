using System.Text.Json;
using Remix.IO;

namespace Remix.Tokenization;

/// <summary>
/// A Hugging Face tokenizer: <c>tokenizer.json</c> run by the Rust tokenizers library, plus the
/// special tokens of <c>tokenizer_config.json</c>. Encoding applies the post-processor (BOS where
/// the tokenizer adds it), as <c>tokenizer(text)</c> does in Python; decoding skips special tokens.
/// </summary>
public sealed class HfTokenizer : IDisposable
{
    public const string FileName = "tokenizer.json";
    public const string ConfigFileName = "tokenizer_config.json";

    readonly Tokenizers.DotNet.Tokenizer _native;
    readonly Dictionary<string, int> _tokenIds;
    readonly int[] _prefix, _suffix;
    readonly bool _cleanUpSpaces;

    HfTokenizer(Tokenizers.DotNet.Tokenizer native, Dictionary<string, int> tokenIds, HashSet<int> specialIds,
        int[] prefix, int[] suffix, int vocabularySize, string? bos, string? eos, string? pad, bool cleanUpSpaces)
    {
        _native = native;
        _tokenIds = tokenIds;
        SpecialTokenIds = specialIds;
        _prefix = prefix;
        _suffix = suffix;
        VocabularySize = vocabularySize;
        BosToken = bos;
        EosToken = eos;
        PadToken = pad;
        _cleanUpSpaces = cleanUpSpaces;
    }

    /// <summary>One more than the largest token id the tokenizer can produce.</summary>
    public int VocabularySize { get; }
    public string? BosToken { get; }
    public string? EosToken { get; }
    public string? PadToken { get; }
    public int? BosTokenId => BosToken is null ? null : TokenToId(BosToken);
    public int? EosTokenId => EosToken is null ? null : TokenToId(EosToken);
    public int? PadTokenId => PadToken is null ? null : TokenToId(PadToken);

    /// <summary>Ids of the added tokens marked special (skipped when decoding).</summary>
    public IReadOnlySet<int> SpecialTokenIds { get; }

    /// <summary>Special token ids the post-processor puts before a single sequence.</summary>
    public IReadOnlyList<int> PrefixTokenIds => _prefix;

    /// <summary>The id of a token string (added or in the vocabulary), or null.</summary>
    public int? TokenToId(string token) => _tokenIds.TryGetValue(token, out int id) ? id : null;

    /// <summary>Loads <c>tokenizer.json</c> and, if present, <c>tokenizer_config.json</c> from a checkpoint directory.</summary>
    public static HfTokenizer Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw new InvalidInputException(path, "file not found (a Hugging Face tokenizer.json is needed)");
        using var doc = JsonFields.ParseFile(path);
        var root = new JsonFields(doc.RootElement, path);

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var special = new HashSet<int>();
        int maxId = -1;
        if (root.OptionalObject("model") is { } model && model.Raw("vocab") is { } vocab)
        {
            if (vocab.ValueKind == JsonValueKind.Object)
                foreach (var p in vocab.EnumerateObject())
                {
                    if (!p.Value.TryGetInt32(out int id) || id < 0) throw model.Error($"vocab.{p.Name}", "a non-negative token id", p.Value);
                    ids[p.Name] = id;
                    maxId = Math.Max(maxId, id);
                }
            else if (vocab.ValueKind == JsonValueKind.Array) // Unigram: [[piece, score], ...], ids are positions
            {
                int id = 0;
                foreach (var item in vocab.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() > 0 && item[0].ValueKind == JsonValueKind.String)
                        ids.TryAdd(item[0].GetString()!, id);
                    maxId = Math.Max(maxId, id++);
                }
            }
        }
        if (root.Raw("added_tokens") is { ValueKind: JsonValueKind.Array } added)
            foreach (var token in added.EnumerateArray())
            {
                var t = new JsonFields(token, path, "added_tokens[]");
                var content = t.OptionalString("content") ?? throw t.Error("content", "a string", null);
                int id = t.RequiredInt("id", 0);
                ids[content] = id;
                if (t.OptionalBool("special") ?? false) special.Add(id);
                maxId = Math.Max(maxId, id);
            }
        var (prefix, suffix) = PostProcessorSpecials(root.OptionalObject("post_processor"), ids);

        string? bos = null, eos = null, pad = null;
        bool cleanUp = false;
        var configPath = Path.Combine(directory, ConfigFileName);
        if (File.Exists(configPath))
        {
            using var configDoc = JsonFields.ParseFile(configPath);
            var config = new JsonFields(configDoc.RootElement, configPath);
            bos = SpecialTokenString(config, "bos_token");
            eos = SpecialTokenString(config, "eos_token");
            pad = SpecialTokenString(config, "pad_token");
            cleanUp = config.OptionalBool("clean_up_tokenization_spaces") ?? false;
            foreach (var (name, token) in new[] { ("bos_token", bos), ("eos_token", eos), ("pad_token", pad) })
                if (token is not null && !ids.ContainsKey(token))
                    throw new InvalidInputException(configPath, $"field '{name}': token \"{token}\" is not in {FileName}");
        }

        Tokenizers.DotNet.Tokenizer native;
        try { native = new Tokenizers.DotNet.Tokenizer(path); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidInputException(path, $"the tokenizers library refused it: {e.Message.Split('\n')[0]}");
        }
        return new HfTokenizer(native, ids, special, prefix, suffix, maxId + 1, bos, eos, pad, cleanUp);
    }

    static string? SpecialTokenString(JsonFields config, string field) => config.Raw(field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Object } o => new JsonFields(o, config.File, field).OptionalString("content"),
        var other => throw config.Error(field, "a token string or an object with 'content'", other),
    };

    /// <summary>The special tokens a post-processor wraps around a single sequence.</summary>
    static (int[] Prefix, int[] Suffix) PostProcessorSpecials(JsonFields? processor, Dictionary<string, int> ids)
    {
        if (processor is not { } p) return ([], []);
        switch (p.OptionalString("type"))
        {
            case "TemplateProcessing":
                var prefix = new List<int>();
                var suffix = new List<int>();
                var specials = p.Raw("special_tokens");
                bool seenSequence = false;
                if (p.Raw("single") is { ValueKind: JsonValueKind.Array } single)
                    foreach (var piece in single.EnumerateArray())
                    {
                        if (piece.TryGetProperty("Sequence", out _)) { seenSequence = true; continue; }
                        if (!piece.TryGetProperty("SpecialToken", out var st) || !st.TryGetProperty("id", out var idName)) continue;
                        var tokenIds = specials is { } sp && sp.TryGetProperty(idName.GetString()!, out var def) && def.TryGetProperty("ids", out var list)
                            ? list.EnumerateArray().Select(e => e.GetInt32()).ToArray()
                            : ids.TryGetValue(idName.GetString()!, out int one) ? [one] : [];
                        (seenSequence ? suffix : prefix).AddRange(tokenIds);
                    }
                return ([.. prefix], [.. suffix]);
            case "BertProcessing" or "RobertaProcessing":
                return ([PairId(p, "cls")], [PairId(p, "sep")]);
            case "Sequence":
                var pre = new List<int>();
                var post = new List<int>();
                if (p.Raw("processors") is { ValueKind: JsonValueKind.Array } processors)
                    foreach (var item in processors.EnumerateArray())
                    {
                        var (a, b) = PostProcessorSpecials(new JsonFields(item, p.File, p.Name("processors[]")), ids);
                        pre.AddRange(a);
                        post.InsertRange(0, b);
                    }
                return ([.. pre], [.. post]);
            default:
                return ([], []);
        }
    }

    static int PairId(JsonFields p, string field) =>
        p.Raw(field) is { ValueKind: JsonValueKind.Array } pair && pair.GetArrayLength() == 2 && pair[1].TryGetInt32(out int id)
            ? id : throw p.Error(field, "[token, id]", p.Raw(field));

    /// <summary>Token ids of <paramref name="text"/>; with <paramref name="addSpecialTokens"/> the post-processor's BOS/EOS are kept.</summary>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        var raw = _native.Encode(text);
        var ids = Array.ConvertAll(raw, v => (int)v);
        if (addSpecialTokens) return ids;
        int start = StartsWith(ids, _prefix) ? _prefix.Length : 0;
        int end = ids.Length - (EndsWith(ids, _suffix, start) ? _suffix.Length : 0);
        return ids[start..end];
    }

    static bool StartsWith(int[] ids, int[] prefix) => prefix.Length > 0 && ids.AsSpan().StartsWith(prefix);

    static bool EndsWith(int[] ids, int[] suffix, int start) =>
        suffix.Length > 0 && ids.Length - start >= suffix.Length && ids.AsSpan().EndsWith(suffix);

    /// <summary>
    /// Text of token ids, special tokens skipped, as Python's <c>decode(ids, skip_special_tokens=True)</c>.
    /// Ids beyond the tokenizer's vocabulary (a model's embedding table may be larger) decode to nothing.
    /// </summary>
    public string Decode(IReadOnlyList<int> ids)
    {
        var known = ids.Where(i => i >= 0 && i < VocabularySize).Select(i => (uint)i).ToArray();
        if (known.Length == 0) return "";
        var text = _native.Decode(known);
        return _cleanUpSpaces ? CleanUpTokenizationSpaces(text) : text;
    }

    /// <summary>transformers' <c>clean_up_tokenization</c>: removes the space before punctuation and English contractions.</summary>
    public static string CleanUpTokenizationSpaces(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    public void Dispose() => _native.Dispose();
}
