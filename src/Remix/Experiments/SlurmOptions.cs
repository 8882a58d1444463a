namespace Remix.Experiments;

/// <summary>What each task of a grid's Slurm array asks for; null leaves a request to the cluster's defaults.</summary>
/// <param name="Partition">The partition the array runs in.</param>
/// <param name="GpusPerTask">GPUs for each task (<c>--gpus-per-task</c>).</param>
/// <param name="CpusPerTask">CPUs for each task (<c>--cpus-per-task</c>); remix then runs with as many threads.</param>
/// <param name="Time">The time limit of each task, in sbatch's form (<c>90</c>, <c>4:00:00</c>, <c>1-12:00:00</c>).</param>
/// <param name="ArrayParallelism">How many tasks run at once at most (the array's <c>%K</c>).</param>
public sealed record SlurmOptions(string Partition, int? GpusPerTask = null, int? CpusPerTask = null, string? Time = null, int? ArrayParallelism = null);
