using static TorchSharp.torch;

namespace Remix.Runtime;

/// <summary>Turns the <c>--device</c> and <c>--dtype</c> options into TorchSharp values, refusing what this build cannot run.</summary>
public static class Devices
{
    public const string DeviceNames = "cpu, cuda or cuda:N";
    public const string DTypeNames = "auto, float32, bfloat16 or float16";

    /// <summary>
    /// The device name in lower case when it is <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>, else null: the spelling
    /// alone, so that a configuration for a GPU can be checked on a machine without one.
    /// </summary>
    public static string? Normalize(string name)
    {
        var text = name.Trim().ToLowerInvariant();
        return text is "cpu" or "cuda"
            || text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text[5..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)
            ? text : null;
    }

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>; CUDA needs a CUDA build of TorchSharp.</summary>
    public static Device Parse(string name)
    {
        var text = Normalize(name) ?? throw new InvalidInputException("--device", $"expected {DeviceNames}, found \"{name}\"");
        GlibcxxCompat.ThrowIfTurnedOffWhereNeeded(); // the first touch of TorchSharp in most commands
        if (text == "cpu") return CPU;
        if (!cuda.is_available())
            throw new InvalidInputException("--device", $"\"{name}\" was asked for but CUDA is not available ({(TorchBackend.Built == "cuda" ? "no CUDA device is visible to this build's CUDA backend" : "this build uses TorchSharp-cpu: build with -p:TorchBackend=cuda")}; see README, \"Running on a GPU\")");
        return device(text);
    }

    /// <summary>The <c>--device</c> and <c>--dtype</c> options for a model whose checkpoint is in <paramref name="checkpointDtype"/>.</summary>
    public static (Device Device, ScalarType DType) Resolve(string device, string dtype, string checkpointDtype)
    {
        var target = Parse(device);
        return (target, ResolveDType(dtype, target, checkpointDtype));
    }

    /// <summary>Whether <paramref name="option"/> is a <c>--dtype</c> value <see cref="ResolveDType"/> accepts.</summary>
    public static bool IsDTypeOption(string option) => IsAuto(option) || DTypes.TryParse(option) is not null;

    static bool IsAuto(string option) => option.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// <c>auto</c> means float32 on CPU (bf16 matmul is slower there) and the checkpoint's dtype on a
    /// GPU; anything else must name float32, bfloat16 or float16.
    /// </summary>
    public static ScalarType ResolveDType(string option, Device device, string checkpointDtype)
    {
        if (IsAuto(option))
            return device.type == TorchSharp.DeviceType.CPU ? ScalarType.Float32 : DTypes.Parse(checkpointDtype, "config.json");
        return DTypes.TryParse(option)
            ?? throw new InvalidInputException("--dtype", $"expected {DTypeNames}, found \"{option}\"");
    }
}
