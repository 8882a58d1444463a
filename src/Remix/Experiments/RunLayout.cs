namespace Remix.Experiments;

/// <summary>
/// Where an experiment's output folder keeps what: a run folder per seed, a folder per stage in it, the spec snapshot
/// and the marker of a finished run. <see cref="ExperimentRunner"/> writes this layout; reports and grids read it.
/// </summary>
public static class RunLayout
{
    /// <summary>The file whose presence says a run (or a stage) finished.</summary>
    public const string DoneMarker = "DONE";

    /// <summary>The default name of <see cref="ExperimentRunner.HashCache"/>, the content hashes of the base model and data files.</summary>
    public const string HashCacheFileName = "file-hashes.json";

    /// <summary>The run folder's copy of the spec its stages were trained under.</summary>
    public const string ConfigSnapshot = "config.json";

    /// <summary>The run folder of one seed under an experiment's output folder.</summary>
    public static string SeedDirectory(string root, int seed) => Path.Combine(root, $"seed-{seed}");

    /// <summary>The folder of stage <paramref name="number"/> (from 1) in a run folder: training, final model, evaluation.</summary>
    public static string StageDirectory(string runDir, int number, string name) => Path.Combine(runDir, $"stage-{number}-{name}");
}
