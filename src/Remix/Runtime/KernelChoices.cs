using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Remix.Runtime;

/// <summary><see cref="KernelChoice"/> as the CLI's <c>--kernels</c> and a spec's <c>kernels:</c> spell it, and what it means on this machine.</summary>
public static class KernelChoices
{
    /// <summary>
    /// The widest vector .NET accelerates in this process, in bits: 512 with AVX-512, 256 with AVX2, 128 with SSE or
    /// ARM NEON; 0 where there is none or no fused multiply-add instruction (the kernels then do not run). What .NET
    /// will use, not what the CPU has: <c>DOTNET_EnableAVX512=0</c> makes it 256 on a CPU with AVX-512.
    /// </summary>
    public static readonly int VectorBits =
        !(Fma.IsSupported || AdvSimd.IsSupported) ? 0
        : Vector512.IsHardwareAccelerated ? 512
        : Vector256.IsHardwareAccelerated ? 256
        : Vector128.IsHardwareAccelerated ? 128
        : 0;

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
    /// accelerates (<see cref="VectorBits"/>: what .NET will use, not what the CPU has). Each kernel also
    /// checks its tensors (float32, contiguous, on the CPU, a width of whole vectors).
    /// </summary>
    public static bool UsesCpuKernels(KernelChoice choice) => choice == KernelChoice.Auto && VectorBits != 0;

    /// <summary>
    /// What ran, as provenance records it: <c>auto (CPU kernels, 512-bit vectors)</c> (or 256-bit, 128-bit),
    /// <c>auto (no vector instructions: reference ops)</c>, <c>auto (not on the CPU: reference ops)</c>,
    /// <c>auto (16-bit weights: reference ops)</c> (every kernel takes float32) or <c>reference</c>.
    /// </summary>
    public static string Describe(KernelChoice choice, bool onCpu = true, bool float32 = true) => choice == KernelChoice.Reference ? "reference"
        : !onCpu ? "auto (not on the CPU: reference ops)"
        : !float32 ? "auto (16-bit weights: reference ops)"
        : UsesCpuKernels(choice) ? $"auto (CPU kernels, {VectorBits}-bit vectors)" : "auto (no vector instructions: reference ops)";
}
