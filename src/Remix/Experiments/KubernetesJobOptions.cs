namespace Remix.Experiments;

/// <summary>What a grid's Kubernetes Indexed Job runs and asks for; null leaves a request out.</summary>
/// <param name="Image">The container image, with remix in it.</param>
/// <param name="Remix">The command that starts remix in the image, as words.</param>
/// <param name="Claim">The PersistentVolumeClaim that holds the project folder (the current directory, the plan folder inside it).</param>
/// <param name="Mount">Where the claim is mounted in the container (an absolute path).</param>
/// <param name="Parallelism">How many pods run at once at most (default: every entry at once).</param>
/// <param name="GpusPerTask">GPUs for each pod (<c>nvidia.com/gpu</c>).</param>
/// <param name="CpusPerTask">CPUs for each pod; remix then runs with as many threads.</param>
public sealed record KubernetesJobOptions(
    string Image, IReadOnlyList<string> Remix, string? Claim = null, string? Mount = null, int? Parallelism = null, int? GpusPerTask = null, int? CpusPerTask = null);
