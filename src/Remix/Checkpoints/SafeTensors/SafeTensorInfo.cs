namespace Remix.Checkpoints.SafeTensors;

/// <summary>One tensor's entry in a safetensors header: dtype, shape and byte span in the data section.</summary>
public sealed record SafeTensorInfo(string Name, SafeTensorDType DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
