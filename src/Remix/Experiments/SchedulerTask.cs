namespace Remix.Experiments;

/// <summary>
/// The scheduler task a worker runs as, read from the environment the scheduler gives it: a Slurm array task
/// (<c>slurm:JOB_TASK</c>), a Slurm job (<c>slurm:JOB</c>), or a task named by <see cref="Variable"/>, as the manifest of
/// <c>remix grid k8s</c> sets it (<c>k8s:JOBNAME/INDEX</c>). A scheduler runs one try of a task at a time, so a lock
/// recorded by the same task was left by an earlier try of it, whichever host that ran on.
/// </summary>
/// <param name="Id">The identity recorded in a lock: <c>slurm:77_3</c>, <c>k8s:plan/3</c>.</param>
public sealed record SchedulerTask(string Id)
{
    /// <summary>
    /// The variable naming the task where the scheduler sets none of its own (<c>k8s:JOBNAME</c>, set by the manifest);
    /// <c>$JOB_COMPLETION_INDEX</c> is appended, <c>/I</c>, when set.
    /// </summary>
    public const string Variable = "REMIX_WORKER_TASK";

    /// <summary>
    /// The task of the environment <paramref name="lookup"/> reads (a variable's value, or null when unset), or null
    /// outside a scheduler's task.
    /// </summary>
    public static SchedulerTask? From(Func<string, string?> lookup)
    {
        string? Get(string name) => lookup(name) is { } v && v.Trim().Length > 0 ? v.Trim() : null;
        if (Get(Variable) is { } named) return new(Get("JOB_COMPLETION_INDEX") is { } index ? $"{named}/{index}" : named);
        if (Get("SLURM_ARRAY_JOB_ID") is { } array && Get("SLURM_ARRAY_TASK_ID") is { } task) return new($"slurm:{array}_{task}");
        if (Get("SLURM_JOB_ID") is { } job) return new($"slurm:{job}");
        return null;
    }

    /// <summary>The task of this process's environment, or null.</summary>
    public static SchedulerTask? FromEnvironment() => From(Environment.GetEnvironmentVariable);

    /// <summary>A task's identity in the user's words: <c>Slurm task 77_3</c>, <c>Kubernetes task plan/3</c>.</summary>
    public static string Describe(string id) => id switch
    {
        _ when id.StartsWith("slurm:", StringComparison.Ordinal) => $"Slurm task {id["slurm:".Length..]}",
        _ when id.StartsWith("k8s:", StringComparison.Ordinal) => $"Kubernetes task {id["k8s:".Length..]}",
        _ => $"task {id}",
    };
}
