using static TorchSharp.torch;

namespace Remix.Checkpoints.SafeTensors;

/// <summary>A safetensors dtype name with its element size and, where TorchSharp has one, its scalar type.</summary>
public sealed record SafeTensorDType(string Name, int Size, ScalarType? ScalarType)
{
    public static readonly IReadOnlyDictionary<string, SafeTensorDType> All = new SafeTensorDType[]
    {
        new("F64", 8, TorchSharp.torch.ScalarType.Float64),
        new("F32", 4, TorchSharp.torch.ScalarType.Float32),
        new("F16", 2, TorchSharp.torch.ScalarType.Float16),
        new("BF16", 2, TorchSharp.torch.ScalarType.BFloat16),
        new("I64", 8, TorchSharp.torch.ScalarType.Int64),
        new("I32", 4, TorchSharp.torch.ScalarType.Int32),
        new("I16", 2, TorchSharp.torch.ScalarType.Int16),
        new("I8", 1, TorchSharp.torch.ScalarType.Int8),
        new("U8", 1, TorchSharp.torch.ScalarType.Byte),
        new("BOOL", 1, TorchSharp.torch.ScalarType.Bool),
        new("F8_E4M3", 1, null),
        new("F8_E5M2", 1, null),
        new("U16", 2, null),
        new("U32", 4, null),
        new("U64", 8, null),
    }.ToDictionary(d => d.Name);

    /// <summary>The safetensors dtype that stores a TorchSharp scalar type.</summary>
    public static SafeTensorDType Of(ScalarType type) =>
        All.Values.FirstOrDefault(d => d.ScalarType == type)
        ?? throw new ArgumentException($"safetensors has no dtype for {type}");
}
