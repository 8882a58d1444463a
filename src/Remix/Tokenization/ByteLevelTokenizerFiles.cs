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
    public static void Write(string directory) =>
        TokenizerFiles.Write(directory, ByteAlphabet(), [], [new(Bos, true), new(Eos, true), new(Pad, true)], Bos, Eos, Pad);
}
