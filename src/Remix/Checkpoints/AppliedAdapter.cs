using System.Globalization;

namespace Remix.Checkpoints;

/// <summary>A PEFT LoRA adapter that loading merged into a model's weights, and on how many projections.</summary>
public sealed record AppliedAdapter(PeftAdapterConfig Config, int Projections)
{
    /// <summary>The directory the adapter came from.</summary>
    public string Directory => Path.GetDirectoryName(Config.File)!;

    /// <summary>One line: <c>LoRA adapter from DIR (rank 8, alpha 16, q_proj+v_proj on 8 projections)</c>.</summary>
    public override string ToString() =>
        $"LoRA adapter from {Directory} (rank {Config.Rank}, alpha {Config.Alpha.ToString(CultureInfo.InvariantCulture)}{(Config.RankStabilized ? ", rsLoRA" : "")}, {Config.TargetsText} on {Projections} projections)";
}
