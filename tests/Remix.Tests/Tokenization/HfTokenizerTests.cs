using System.Text;
using Remix.Tests.Support;
using Remix.Tokenization;

namespace Remix.Tests.Tokenization;

public class HfTokenizerTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizers", name);

    [Fact]
    public void ByteLevel_EncodesBosThenUtf8Bytes_AndDecodesBack()
    {
        using var dir = new TempDir();
        ByteLevelTokenizerFiles.Write(dir.Path);
        using var tok = HfTokenizer.Load(dir.Path);
        var text = "Héllo, wörld!\n";
        var ids = tok.Encode(text);
        Assert.Equal([256, .. Encoding.UTF8.GetBytes(text).Select(b => (int)b)], ids);
        Assert.Equal(ids[1..], tok.Encode(text, addSpecialTokens: false));
        Assert.Equal(text, tok.Decode(ids));
        Assert.Equal((256, 257, 258), (tok.BosTokenId, tok.EosTokenId, tok.PadTokenId));
        Assert.Equal(259, tok.VocabularySize);
    }

    [Fact]
    public void SpecialTokensInText_AreRecognised_AndSkippedWhenDecoding()
    {
        using var dir = new TempDir();
        ByteLevelTokenizerFiles.Write(dir.Path);
        using var tok = HfTokenizer.Load(dir.Path);
        var ids = tok.Encode("a<|eos|>b");
        Assert.Equal([256, 97, 257, 98], ids);
        Assert.Equal("ab", tok.Decode(ids));
    }

    [Fact]
    public void BpeFixture_AppliesMergesAndTemplate()
    {
        using var tok = HfTokenizer.Load(Fixture("bpe"));
        // "hello world" -> <s> hello Ġw o r l d ; merges make "hello" and "Ġw" single tokens.
        Assert.Equal([0, 13, 14, 5, 8, 4, 9], tok.Encode("hello world"));
        Assert.Equal([13, 14, 5, 8, 4, 9], tok.Encode("hello world", addSpecialTokens: false));
        Assert.Equal([0], tok.PrefixTokenIds);
        Assert.Equal(1, tok.EosTokenId);
        Assert.Equal("hello world", tok.Decode([0, 13, 14, 5, 8, 4, 9, 1]));
    }

    [Fact]
    public void Llama3StyleFixture_SplitsWithTheRegex_AndCleansUpSpacesWhenConfigured()
    {
        using var tok = HfTokenizer.Load(Fixture("llama3-style"));
        // "the" has no merge t+he; " cap" is whole in the vocabulary (ignore_merges); " the" too.
        Assert.Equal([262, 116, 257, 261, 258], tok.Encode("the cap the"));
        Assert.Equal([262], tok.PrefixTokenIds); // found inside a Sequence post-processor
        Assert.Equal([116, 257, 261, 258], tok.Encode("the cap the", addSpecialTokens: false));
        Assert.Equal([262, 99, 260, 32, 46], tok.Encode("cap ."));
        Assert.Equal("cap.", tok.Decode([262, 99, 260, 32, 46, 263])); // clean_up_tokenization_spaces: true
        Assert.Equal(263, tok.EosTokenId);
    }

    [Fact]
    public void CleanUpTokenizationSpaces_MatchesTransformers()
    {
        Assert.Equal("Yes. Isn't it? I'm here, they're not!", HfTokenizer.CleanUpTokenizationSpaces("Yes . Is n't it ? I 'm here , they 're not !"));
    }

    [Fact]
    public void ChatTemplate_IsThePapersFormat()
    {
        Assert.Equal("<|user|>\nWhat is the capital of France?\n<|assistant|>\n", ChatTemplate.Default.Prompt("What is the capital of France?"));
    }

    [Fact]
    public void MissingTokenizer_IsRefusedWithThePath()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidInputException>(() => HfTokenizer.Load(dir.Path));
        Assert.Equal($"{dir.File("tokenizer.json")}: file not found (a Hugging Face tokenizer.json is needed)", e.Message);
    }

    [Fact]
    public void TokenizerJsonOfAnUnknownModel_IsRefusedWithoutACrash()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tokenizer.json"), "{\"version\": \"1.0\", \"model\": {\"type\": \"Nope\"}}");
        var e = Assert.Throws<InvalidInputException>(() => HfTokenizer.Load(dir.Path));
        Assert.StartsWith($"{dir.File("tokenizer.json")}: the tokenizers library refused it: ", e.Message);
    }

    [Fact]
    public void ConfigNamingAnUnknownEosToken_IsRefused()
    {
        using var dir = new TempDir();
        ByteLevelTokenizerFiles.Write(dir.Path);
        File.WriteAllText(dir.File("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"</s>\"}}");
        var e = Assert.Throws<InvalidInputException>(() => HfTokenizer.Load(dir.Path));
        Assert.Equal($"{dir.File("tokenizer_config.json")}: field 'eos_token': token \"</s>\" is not in tokenizer.json", e.Message);
    }
}
