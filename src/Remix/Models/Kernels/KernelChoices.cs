
namespace Remix.Models.Kernels;

/// <summary><see cref="KernelChoice"/> as the CLI's <c>--kernels</c> and a spec's <c>kernels:</c> spell it, and what it means on this machine.</summary>
public static class KernelChoices
{
    /// <summary>The accepted names, in the order help and errors list them.</summary>
    public static readonly IReadOnlyList<string> Names = ["auto", "reference"];

    /// <summary>"auto or reference", for help texts and errors.</summary>
    public const string Expected = "auto or reference";

    /// <summary>The choice a name means, or null for another word (in another case too, as every spec choice).</summary>
    public static KernelChoice? TryParse(string? name) => name switch
    {
        "auto" => KernelChoice.Auto,
        "reference" => KernelChoice.Reference,
        _ => null,
    };

    /// <summary>The choice a name means, refused in one line naming <paramref name="field"/> otherwise.</summary>
    public static KernelChoice Parse(string? name, string field = "--kernels") =>
        TryParse(name) ?? throw new InvalidInputException(field, $"expected {Expected}, found \"{name}\"");

    /// <summary>The name a spec or the CLI writes for a choice.</summary>
    public static string Name(KernelChoice choice) => choice == KernelChoice.Reference ? "reference" : "auto";

    /// <summary>
    /// Whether Remix's CPU kernels may run under <paramref name="choice"/> in this process: at any vector width .NET
    /// accelerates (<see cref="CpuKernels.VectorBits"/>: what .NET will use, not what the CPU has). Each kernel also
    /// checks its tensors (float32, contiguous, on the CPU, a width of whole vectors).
    /// </summary>
    public static bool UsesCpuKernels(KernelChoice choice) => choice == KernelChoice.Auto && CpuKernels.Accelerated;

    /// <summary>
    /// What ran, as provenance records it: <c>auto (CPU kernels, 512-bit vectors)</c> (or 256-bit, 128-bit),
    /// <c>auto (no vector instructions: reference ops)</c>, <c>auto (not on the CPU: reference ops)</c>,
    /// <c>auto (16-bit weights: reference ops)</c> (every kernel takes float32) or <c>reference</c>.
    /// </summary>
    public static string Describe(KernelChoice choice, bool onCpu = true, bool float32 = true) => choice == KernelChoice.Reference ? "reference"
        : !onCpu ? "auto (not on the CPU: reference ops)"
        : !float32 ? "auto (16-bit weights: reference ops)"
        : UsesCpuKernels(choice) ? $"auto (CPU kernels, {CpuKernels.VectorBits}-bit vectors)" : "auto (no vector instructions: reference ops)";
}
