using Remix.Models;
using static TorchSharp.torch;

namespace Remix.Data.Batching;

/// <summary>
/// A batch of encoded examples as the model takes it: right-padded rows (<see cref="PaddedBatch"/>) or examples packed one
/// after another into a single row (<see cref="PackedBatch"/>).
/// </summary>
public interface ITokenBatch
{
    /// <summary>The examples' ids, in the batch's order.</summary>
    IReadOnlyList<string> Ids { get; }

    /// <summary>Tokens that carry loss (the first token of an example is never predicted).</summary>
    long LossTokenCount { get; }

    /// <summary>Real (non-padding) tokens in the batch.</summary>
    long TokenCount { get; }

    /// <summary>The lengths of the packed examples along the single row, or null for padded rows.</summary>
    IReadOnlyList<int>? PackedLengths { get; }

    /// <summary>Input ids and labels as [rows, width] tensors.</summary>
    (Tensor InputIds, Tensor Labels) ToTensors(Device device);

    /// <summary>
    /// The example whose token a flat labelled position predicts (<see cref="Models.CausalLmLoss.LabelledPositions"/>:
    /// row * (width - 1) + t, token t + 1 predicted at t).
    /// </summary>
    int ExampleAt(long labelledPosition);

    /// <summary>
    /// The examples as <paramref name="model"/> takes them best: packed into one row where its attention runs on the CPU
    /// kernel (<see cref="LlamaForCausalLM.PacksSequences"/>: the same loss and gradients within rounding, without the
    /// padding's work), right-padded rows with <paramref name="padId"/> elsewhere.
    /// </summary>
    static ITokenBatch For(LlamaForCausalLM model, IReadOnlyList<EncodedExample> examples, int padId) =>
        model.PacksSequences ? PackedBatch.From(examples) : PaddedBatch.From(examples, padId);
}
