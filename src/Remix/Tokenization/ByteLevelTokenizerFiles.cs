using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.IO;

namespace Remix.Tokenization;

/// <summary>
/// Writes a byte-level tokenizer in Hugging Face format (<c>tokenizer.json</c>,
/// <c>tokenizer_config.json</c>): token id b is byte b (GPT-2's byte-to-character alphabet), then
/// the special tokens. Any text encodes, so it suits freshly initialised models and tests.
/// </summary>
public static class ByteLevelTokenizerFiles
{
    public const string Bos = "<|bos|>", Eos = "<|eos|>", Pad = "<|pad|>";

    /// <summary>Number of ids: 256 bytes plus BOS, EOS and PAD.</summary>
    public const int VocabularySize = 259;

    /// <summary>GPT-2's reversible map from bytes to printable characters, as the ByteLevel pre-tokenizer uses.</summary>
    public static string[] ByteAlphabet()
    {
        var printable = new List<int>();
        for (int b = '!'; b <= '~'; b++) printable.Add(b);
        for (int b = 0xA1; b <= 0xAC; b++) printable.Add(b);
        for (int b = 0xAE; b <= 0xFF; b++) printable.Add(b);
        var map = new string[256];
        int extra = 0;
        for (int b = 0; b < 256; b++)
            map[b] = printable.Contains(b) ? ((char)b).ToString() : ((char)(256 + extra++)).ToString();
        return map;
    }

    /// <summary>Writes both files into <paramref name="directory"/>.</summary>
    public static void Write(string directory)
    {
        var alphabet = ByteAlphabet();
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[alphabet[b]] = b;
        var specials = new[] { (Bos, 256), (Eos, 257), (Pad, 258) };
        var added = new JsonArray();
        foreach (var (content, id) in specials)
            added.Add(new JsonObject
            {
                ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        JsonObject ByteLevel() => new()
        {
            ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true,
        };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(),
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = Bos, ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = Bos, ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = Bos, ["type_id"] = 1 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } }),
                ["special_tokens"] = new JsonObject
                {
                    [Bos] = new JsonObject { ["id"] = Bos, ["ids"] = new JsonArray(256), ["tokens"] = new JsonArray(Bos) },
                },
            },
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = Bos,
            ["eos_token"] = Eos,
            ["pad_token"] = Pad,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = 2048,
        };
        var options = new JsonSerializerOptions { WriteIndented = true };
        AtomicFile.WriteAllText(Path.Combine(directory, HfTokenizer.FileName), tokenizer.ToJsonString(options));
        AtomicFile.WriteAllText(Path.Combine(directory, HfTokenizer.ConfigFileName), config.ToJsonString(options));
    }
}
