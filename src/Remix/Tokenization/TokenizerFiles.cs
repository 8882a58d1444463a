using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.IO;

namespace Remix.Tokenization;

/// <summary>
/// Writes a byte-level BPE tokenizer as Hugging Face files (<c>tokenizer.json</c>,
/// <c>tokenizer_config.json</c>) that the tokenizers library loads unchanged: GPT-2's ByteLevel
/// pre-tokenizer and decoder, a BPE model with the given vocabulary and ranked merges, BOS added by
/// the post-processor, and the added tokens after the vocabulary.
/// </summary>
internal static class TokenizerFiles
{
    /// <summary>An added token: special ones are skipped when decoding; others (such as chat markers) are kept as text.</summary>
    public sealed record AddedToken(string Content, bool Special);

    public static void Write(string directory, IReadOnlyList<string> vocabulary, IReadOnlyList<(string Left, string Right)> merges,
        IReadOnlyList<AddedToken> added, string bos, string eos, string pad, int modelMaxLength = 2048)
    {
        var vocab = new JsonObject();
        for (int id = 0; id < vocabulary.Count; id++) vocab[vocabulary[id]] = id;
        var addedTokens = new JsonArray();
        var ids = new Dictionary<string, int>();
        for (int i = 0; i < added.Count; i++)
        {
            int id = vocabulary.Count + i;
            ids[added[i].Content] = id;
            addedTokens.Add(new JsonObject
            {
                ["id"] = id, ["content"] = added[i].Content, ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = added[i].Special,
            });
        }
        if (!ids.ContainsKey(bos) || !ids.ContainsKey(eos) || !ids.ContainsKey(pad))
            throw new ArgumentException("BOS, EOS and PAD must be among the added tokens");
        JsonObject ByteLevel() => new() { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        JsonObject Special(string token, int typeId) => new() { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = typeId } };
        JsonObject Sequence(string name, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = name, ["type_id"] = typeId } };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = addedTokens,
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(),
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special(bos, 0), Sequence("A", 0)),
                ["pair"] = new JsonArray(Special(bos, 0), Sequence("A", 0), Special(bos, 1), Sequence("B", 1)),
                ["special_tokens"] = new JsonObject
                {
                    [bos] = new JsonObject { ["id"] = bos, ["ids"] = new JsonArray(ids[bos]), ["tokens"] = new JsonArray(bos) },
                },
            },
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)$"{m.Left} {m.Right}")]),
            },
        };
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = bos,
            ["eos_token"] = eos,
            ["pad_token"] = pad,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = modelMaxLength,
        };
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        AtomicFile.WriteAllText(Path.Combine(directory, HfTokenizer.FileName), tokenizer.ToJsonString(options));
        AtomicFile.WriteAllText(Path.Combine(directory, HfTokenizer.ConfigFileName), config.ToJsonString(options));
    }
}
