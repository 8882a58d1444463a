using Remix.Models;
using Remix.Tokenization;

namespace Remix.Checkpoints;

/// <summary>Creates freshly initialised checkpoints with a byte-level tokenizer: for tests, benchmarks and as a start for pretraining.</summary>
public static class RandomCheckpoint
{
    /// <summary>A small Llama shape sized for the byte-level tokenizer (259 ids).</summary>
    public static LlamaConfig TinyConfig(int hiddenSize = 64, int layers = 2, int heads = 4, int kvHeads = 2, int? intermediateSize = null) => new()
    {
        ModelType = "llama",
        VocabSize = ByteLevelTokenizerFiles.VocabularySize,
        HiddenSize = hiddenSize,
        IntermediateSize = intermediateSize ?? hiddenSize * 8 / 3 / 8 * 8 + 8,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        HeadDim = hiddenSize / heads,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        TieWordEmbeddings = true,
        MaxPositionEmbeddings = 2048,
        BosTokenId = 256,
        EosTokenIds = [257],
        PadTokenId = 258,
        TorchDtype = "float32",
    };

    /// <summary>Writes a Hugging Face-layout checkpoint with weights initialised from <paramref name="seed"/> and a byte-level tokenizer.</summary>
    public static void Write(string directory, LlamaConfig config, long seed)
    {
        if (config.VocabSize < ByteLevelTokenizerFiles.VocabularySize)
            throw new InvalidInputException("vocab_size", $"expected at least {ByteLevelTokenizerFiles.VocabularySize} for the byte-level tokenizer, found {config.VocabSize}");
        using var model = new LlamaForCausalLM(config);
        model.InitializeWeights(seed);
        HfCheckpoint.Save(model, directory);
        ByteLevelTokenizerFiles.Write(directory);
    }
}
