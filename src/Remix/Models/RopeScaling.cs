namespace Remix.Models;

/// <summary>
/// Rotary frequency scaling from <c>rope_scaling</c> (or <c>rope_parameters</c>): <c>default</c>
/// (none), <c>linear</c>, or <c>llama3</c> (Llama 3.1's wavelength-dependent scaling).
/// </summary>
public sealed record RopeScaling(
    string Type,
    double Factor = 1.0,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositionEmbeddings = 8192)
{
    /// <summary>The rope types this implementation computes exactly.</summary>
    public static readonly IReadOnlyList<string> Supported = ["default", "linear", "llama3"];
}
