using System.Text.Json.Serialization;

namespace Remix.Training;

/// <summary>
/// How full fine-tuning keeps its weights, gradients and AdamW moments (see <see cref="Precisions"/> for the bytes per
/// parameter of each). Spelled as <c>--precision</c> and the recipe's <c>precision</c> take it.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<Precision>))]
public enum Precision
{
    /// <summary>Weights, gradients and both AdamW moments in float32: 16 bytes per parameter.</summary>
    [JsonStringEnumMemberName("fp32")] Fp32,

    /// <summary>
    /// bfloat16 weights for forward and backward (so bfloat16 gradients), with a float32 master copy of the weights and
    /// float32 moments in the optimizer: 2 + 2 + 4 + 8 = 16 bytes per parameter. What <c>--dtype bfloat16</c> always did.
    /// </summary>
    [JsonStringEnumMemberName("bf16-master")] Bf16Master,

    /// <summary>
    /// Weights, gradients and both AdamW moments in bfloat16, no master copy (as FSDP's mixed precision with bfloat16
    /// parameters, and the paper's 8B runs): 2 + 2 + 4 = 8 bytes per parameter.
    /// </summary>
    [JsonStringEnumMemberName("bf16-pure")] Bf16Pure,
}
