using Remix.Checkpoints;
using Remix.Evaluation;
using Remix.Models;

namespace Remix.Tests.Models;

public class BundledModelTests
{
    static string RemixTiny() => Path.GetDirectoryName(Remix.Data.Bundled.BundledPaths.Find("models/remix-tiny/config.json"))!;

    [Fact]
    public void RemixTiny_LoadsWithItsTokenizer_AndContinuesAGloss()
    {
        using var loaded = LoadedModel.Load(RemixTiny());
        Assert.Equal(3_950_848, loaded.Model.ParameterCount());
        Assert.Equal(4096, loaded.Tokenizer.VocabularySize);
        Assert.Equal([4092], loaded.StopTokenIds);
        Assert.Single(loaded.Tokenizer.Encode("<|assistant|>", addSpecialTokens: false));
        var (text, sequence) = new TextGenerator(loaded).Generate(["oak, oak tree:"], 12)[0];
        Assert.NotEmpty(sequence.Tokens);
        Assert.StartsWith(" any of various", text); // as recorded in MODEL_CARD.md (greedy, float32)
    }
}
