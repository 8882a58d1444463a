using static TorchSharp.torch;

namespace Remix.Runtime;

/// <summary>Turns the <c>--device</c> and <c>--dtype</c> options into TorchSharp values, refusing what this build cannot run.</summary>
public static class Devices
{
    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>; CUDA needs a CUDA build of TorchSharp.</summary>
    public static Device Parse(string name)
    {
        var text = name.Trim().ToLowerInvariant();
        if (text == "cpu") return CPU;
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (text.Length > 5 && !int.TryParse(text[5..], out _))
                throw new InvalidInputException("--device", $"expected cpu, cuda or cuda:N, found \"{name}\"");
            if (!cuda.is_available())
                throw new InvalidInputException("--device", $"\"{name}\" was asked for but CUDA is not available (this build uses TorchSharp-cpu; see README, \"Running on a GPU\")");
            return device(text);
        }
        throw new InvalidInputException("--device", $"expected cpu, cuda or cuda:N, found \"{name}\"");
    }

    /// <summary>
    /// <c>auto</c> means float32 on CPU (bf16 matmul is slower there) and the checkpoint's dtype on a
    /// GPU; anything else must name float32, bfloat16 or float16.
    /// </summary>
    public static ScalarType ResolveDType(string option, Device device, string checkpointDtype)
    {
        if (option.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase))
            return device.type == TorchSharp.DeviceType.CPU ? ScalarType.Float32 : Models.DTypes.Parse(checkpointDtype, "config.json");
        return Models.DTypes.TryParse(option)
            ?? throw new InvalidInputException("--dtype", $"expected auto, float32, bfloat16 or float16, found \"{option}\"");
    }
}
