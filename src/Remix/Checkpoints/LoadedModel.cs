using Remix.Models;
using Remix.Runtime;
using Remix.Tokenization;
using static TorchSharp.torch;

namespace Remix.Checkpoints;

/// <summary>
/// A checkpoint directory loaded for use: the model (with the directory's LoRA adapter merged into it, when it holds
/// one), its tokenizer and the tokens that end generation.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    LoadedModel(string directory, LlamaForCausalLM model, HfTokenizer tokenizer, IReadOnlyList<int> stopTokenIds, AppliedAdapter? adapter)
    {
        Directory = directory;
        Model = model;
        Tokenizer = tokenizer;
        StopTokenIds = stopTokenIds;
        Adapter = adapter;
    }

    public string Directory { get; }
    public LlamaForCausalLM Model { get; }
    public HfTokenizer Tokenizer { get; }
    public IReadOnlyList<int> StopTokenIds { get; }

    /// <summary>The PEFT LoRA adapter merged into <see cref="Model"/> on loading, or null (none in the directory, or not applied).</summary>
    public AppliedAdapter? Adapter { get; }

    /// <summary>
    /// Loads with a device name (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>) and a dtype name (<c>auto</c>: float32 on
    /// CPU, the checkpoint's own on a GPU; or float32, bfloat16, float16), as the CLI and experiment specs give them.
    /// </summary>
    public static LoadedModel Load(string directory, string device, string dtype, bool applyAdapter = true, KernelChoice kernels = KernelChoice.Auto)
    {
        var (target, type) = Runtime.Devices.Resolve(device, dtype, HfCheckpoint.LoadConfig(directory).TorchDtype);
        return Load(directory, target, type, applyAdapter, kernels);
    }

    /// <summary>
    /// Loads model and tokenizer from a Hugging Face-layout directory. A PEFT LoRA adapter there
    /// (<c>adapter_model.safetensors</c> + <c>adapter_config.json</c>, as <c>remix train --lora</c> writes) is merged into
    /// the weights unless <paramref name="applyAdapter"/> is false, which loads the base weights alone. <paramref name="kernels"/>
    /// is the model's <see cref="LlamaForCausalLM.Kernels"/>.
    /// </summary>
    public static LoadedModel Load(string directory, Device? device = null, ScalarType dtype = ScalarType.Float32, bool applyAdapter = true,
        KernelChoice kernels = KernelChoice.Auto)
    {
        Runtime.GlibcxxCompat.ThrowIfTurnedOffWhereNeeded(); // before the first touch of TorchSharp: one clear exception, not a load trace
        var tokenizer = HfTokenizer.Load(directory);
        try
        {
            var (model, adapter) = LoadModel(directory, device, dtype, applyAdapter, kernels);
            try
            {
                CheckFits(directory, tokenizer, model.Config);
                var stops = HfCheckpoint.StopTokenIds(directory, model.Config, tokenizer.EosTokenId);
                return new LoadedModel(directory, model, tokenizer, stops, adapter);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        catch
        {
            tokenizer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads everything <see cref="Load(string, Device?, ScalarType, bool, KernelChoice)"/> reads but the tensors — config.json, tokenizer.json
    /// (and that it fits the vocabulary), the stop tokens and every weight file's header — so that a checkpoint of any size
    /// is checked in moments; refuses what loading would refuse there, in one line naming the file.
    /// </summary>
    public static ModelSummary Check(string directory)
    {
        var config = HfCheckpoint.LoadConfig(directory);
        using (var tokenizer = HfTokenizer.Load(directory))
        {
            CheckFits(directory, tokenizer, config);
            HfCheckpoint.StopTokenIds(directory, config, tokenizer.EosTokenId);
        }
        // Loading merges an adapter found here: its config and its weights' header are read as loading reads them.
        if (PeftAdapter.Holds(directory))
        {
            PeftAdapterConfig.Load(directory);
            using var adapter = SafeTensors.SafeTensorsFile.Open(Path.Combine(directory, PeftAdapter.WeightsFile));
        }
        return ModelSummary.Read(directory);
    }

    static void CheckFits(string directory, HfTokenizer tokenizer, LlamaConfig config)
    {
        if (tokenizer.VocabularySize > config.VocabSize)
            throw new InvalidInputException(directory, $"tokenizer.json has {tokenizer.VocabularySize} tokens but config.json's vocab_size is {config.VocabSize}");
    }

    /// <summary>
    /// The model of a checkpoint directory as <see cref="Load(string, Device?, ScalarType, bool, KernelChoice)"/> loads it, without the
    /// tokenizer: the weights, with the directory's LoRA adapter merged when <paramref name="applyAdapter"/> is true.
    /// </summary>
    public static (LlamaForCausalLM Model, AppliedAdapter? Adapter) LoadModel(string directory, Device? device = null,
        ScalarType dtype = ScalarType.Float32, bool applyAdapter = true, KernelChoice kernels = KernelChoice.Auto)
    {
        var model = HfCheckpoint.Load(directory, device, dtype, kernels);
        try
        {
            return (model, applyAdapter ? PeftAdapter.Merge(model, directory) : null);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        Tokenizer.Dispose();
    }
}
