using Remix.Tokenization;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>A checkpoint directory loaded for use: the model, its tokenizer and the tokens that end generation.</summary>
public sealed class LoadedModel : IDisposable
{
    LoadedModel(string directory, LlamaForCausalLM model, HfTokenizer tokenizer, IReadOnlyList<int> stopTokenIds)
    {
        Directory = directory;
        Model = model;
        Tokenizer = tokenizer;
        StopTokenIds = stopTokenIds;
    }

    public string Directory { get; }
    public LlamaForCausalLM Model { get; }
    public HfTokenizer Tokenizer { get; }
    public IReadOnlyList<int> StopTokenIds { get; }

    /// <summary>
    /// Loads with a device name (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>) and a dtype name (<c>auto</c>: float32 on
    /// CPU, the checkpoint's own on a GPU; or float32, bfloat16, float16), as the CLI and experiment specs give them.
    /// </summary>
    public static LoadedModel Load(string directory, string device, string dtype)
    {
        var (target, type) = Runtime.Devices.Resolve(device, dtype, HfCheckpoint.LoadConfig(directory).TorchDtype);
        return Load(directory, target, type);
    }

    /// <summary>Loads model and tokenizer from a Hugging Face-layout directory.</summary>
    public static LoadedModel Load(string directory, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        var tokenizer = HfTokenizer.Load(directory);
        try
        {
            var model = HfCheckpoint.Load(directory, device, dtype);
            if (tokenizer.VocabularySize > model.Config.VocabSize)
                throw new InvalidInputException(directory, $"tokenizer.json has {tokenizer.VocabularySize} tokens but config.json's vocab_size is {model.Config.VocabSize}");
            var stops = HfCheckpoint.StopTokenIds(directory, model.Config, tokenizer.EosTokenId);
            return new LoadedModel(directory, model, tokenizer, stops);
        }
        catch
        {
            tokenizer.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        Tokenizer.Dispose();
    }
}
