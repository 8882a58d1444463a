using Remix.Models;
using Remix.Runtime;
using static TorchSharp.torch;

namespace Remix.Training;

/// <summary>
/// The <see cref="Precision"/> modes' names, the weights' dtype each trains, its bytes per parameter, and how
/// <c>--precision</c> and <c>--dtype</c> settle each other (one derives the other; a contradiction is refused).
/// </summary>
public static class Precisions
{
    /// <summary>The names, as <c>--precision</c> takes them.</summary>
    public const string Names = "fp32, bf16-master or bf16-pure";

    /// <summary>The mode's name (<c>fp32</c>, <c>bf16-master</c>, <c>bf16-pure</c>).</summary>
    public static string Name(Precision precision) => precision switch
    {
        Precision.Fp32 => "fp32",
        Precision.Bf16Master => "bf16-master",
        Precision.Bf16Pure => "bf16-pure",
        _ => throw new ArgumentOutOfRangeException(nameof(precision)),
    };

    /// <summary>The mode named <paramref name="name"/> as written (as every spec choice), or null.</summary>
    public static Precision? TryParse(string? name) =>
        Enum.GetValues<Precision>().Cast<Precision?>().FirstOrDefault(p => Name(p!.Value) == name);

    /// <summary>The mode named <paramref name="name"/>, or an error at <paramref name="origin"/>.</summary>
    public static Precision Parse(string name, string origin = "--precision") =>
        TryParse(name) ?? throw new InvalidInputException(origin, $"expected {Names}, found \"{name}\"");

    /// <summary>The dtype the model's weights are loaded in for the mode.</summary>
    public static ScalarType WeightDType(Precision precision) => precision == Precision.Fp32 ? ScalarType.Float32 : ScalarType.BFloat16;

    /// <summary>
    /// Whether the optimizer keeps a float32 master copy of 16-bit weights. Without a mode (null, a <c>--dtype</c> alone)
    /// it does, whatever the 16-bit type: the behaviour before there were modes.
    /// </summary>
    public static bool KeepsMaster(Precision? precision) => precision != Precision.Bf16Pure;

    /// <summary>
    /// The <c>--dtype</c> value to load with: the mode's weight dtype when <paramref name="dtypeOption"/> is <c>auto</c>,
    /// the option itself when no mode is given; an explicit dtype that is not the mode's is refused, naming both.
    /// </summary>
    public static string DTypeOption(Precision? precision, string dtypeOption, string origin = "--precision")
    {
        if (precision is not { } p) return dtypeOption;
        if (Contradiction(p, dtypeOption) is { } why) throw new InvalidInputException(origin, why);
        return IsAuto(dtypeOption) ? DTypes.HfName(WeightDType(p)) : dtypeOption;
    }

    /// <summary>Why <paramref name="dtypeOption"/> (a <c>--dtype</c> value) contradicts <paramref name="precision"/>, or null when it does not.</summary>
    public static string? Contradiction(Precision? precision, string dtypeOption)
    {
        if (precision is not { } p || IsAuto(dtypeOption) || DTypes.TryParse(dtypeOption) is not { } given || given == WeightDType(p)) return null;
        return $"{Name(p)} trains {DTypes.HfName(WeightDType(p))} weights, but the dtype is {DTypes.HfName(given)}; leave the dtype out (auto) or make them agree";
    }

    static bool IsAuto(string dtypeOption) => dtypeOption.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase);

    /// <summary>Bytes per parameter of each part of the mode's training state, as <see cref="AdamW"/> and the trainer hold it.</summary>
    public static PrecisionBytes Bytes(Precision precision) => precision switch
    {
        Precision.Fp32 => new(Weights: 4, Gradients: 4, Master: 0, Moments: 8),
        Precision.Bf16Master => new(Weights: 2, Gradients: 2, Master: 4, Moments: 8),
        Precision.Bf16Pure => new(Weights: 2, Gradients: 2, Master: 0, Moments: 4),
        _ => throw new ArgumentOutOfRangeException(nameof(precision)),
    };
}
