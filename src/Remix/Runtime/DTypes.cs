using static TorchSharp.torch;

namespace Remix.Runtime;

/// <summary>Names of the floating-point types a model can run in, as Hugging Face and users write them.</summary>
public static class DTypes
{
    /// <summary>Parses <c>float32</c>, <c>bfloat16</c>, <c>float16</c> and the short forms <c>fp32</c>, <c>bf16</c>, <c>fp16</c>.</summary>
    public static ScalarType? TryParse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" or "float" or "torch.float32" => ScalarType.Float32,
        "bfloat16" or "bf16" or "torch.bfloat16" => ScalarType.BFloat16,
        "float16" or "fp16" or "f16" or "half" or "torch.float16" => ScalarType.Float16,
        _ => null,
    };

    /// <summary>Parses a dtype name or throws naming where it came from.</summary>
    public static ScalarType Parse(string name, string origin) =>
        TryParse(name) ?? throw new InvalidInputException(origin, $"expected a dtype of float32, bfloat16 or float16, found \"{name}\"");

    /// <summary>The Hugging Face spelling (<c>torch_dtype</c> values).</summary>
    public static string HfName(ScalarType type) => type switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => type.ToString().ToLowerInvariant(),
    };
}
