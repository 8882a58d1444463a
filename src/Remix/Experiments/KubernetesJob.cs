using System.Text.RegularExpressions;
using Remix.IO;
using YamlDotNet.Serialization;

namespace Remix.Experiments;

/// <summary>
/// A Kubernetes Indexed Job that runs every entry of a grid (each completion index the entry's line of runs.jsonl), written
/// into the plan folder as <c>k8s/job.yaml</c>. An Indexed Job cannot list chosen indices, so it spans every entry:
/// a finished entry's pod does nothing and succeeds.
/// </summary>
/// <param name="Path">Where the manifest is.</param>
/// <param name="Name">The Job's name.</param>
/// <param name="Completions">The number of entries, one completion index each.</param>
/// <param name="PlanDirectory">The plan folder as the container sees it.</param>
public sealed record KubernetesJob(string Path, string Name, int Completions, string PlanDirectory)
{
    /// <summary>The folder of the plan folder that holds the manifest.</summary>
    public const string DirectoryName = "k8s";

    /// <summary>The manifest's file name.</summary>
    public const string FileName = "job.yaml";

    /// <summary>How often one index is retried after its pod fails before the index counts as failed.</summary>
    public const int BackoffLimitPerIndex = 3;

    /// <summary>How long a pod told to stop (SIGTERM: preemption, eviction, deletion) has to checkpoint its entry before SIGKILL.</summary>
    public const int TerminationGracePeriodSeconds = 150;

    static readonly Regex NotInName = new("[^a-z0-9-]+", RegexOptions.CultureInvariant);

    /// <summary>
    /// Writes the manifest for plan folder <paramref name="directory"/>; <paramref name="workingDirectory"/> is the folder
    /// the claim holds, which the plan folder must lie in when a claim is given. A manifest there that is not remix's
    /// unedited one is refused unless <paramref name="force"/>.
    /// </summary>
    public static KubernetesJob Write(string directory, KubernetesJobOptions options, string workingDirectory, bool force = false)
    {
        Check(options);
        var root = System.IO.Path.GetFullPath(directory);
        int completions = GridStatus.Read(root).Count;
        if (completions == 0) throw new InvalidInputException(System.IO.Path.Combine(root, GridPlan.RunsFileName), "holds no entries");
        var inContainer = PlanDirectoryInContainer(root, options, System.IO.Path.GetFullPath(workingDirectory));
        var name = JobName(root);
        // Quoted where a string would read as a number (args: "4"), which Kubernetes refuses; no anchors, for readers that take none.
        var yaml = new SerializerBuilder().WithQuotingNecessaryStrings().DisableAliases().Build().Serialize(Manifest(name, completions, inContainer, options));
        var path = System.IO.Path.Combine(root, DirectoryName, FileName);
        // People add to the manifest (a namespace, node selectors): an edited one is theirs, and replaced only when forced.
        MarkedFile.Write(path, $"# Written by remix grid k8s: every entry of {GridPlan.RunsFileName}, a finished one's pod does nothing.\n{yaml}", force);
        return new KubernetesJob(path, name, completions, inContainer);
    }

    static void Check(KubernetesJobOptions options)
    {
        if (options.Image.Length == 0 || options.Image.Any(char.IsWhiteSpace)) throw new InvalidInputException("--image", $"expected an image name, found \"{options.Image}\"");
        if (options.Remix.Count == 0) throw new InvalidInputException("--remix", "expected the command that starts remix in the image");
        if ((options.Claim is null) != (options.Mount is null)) throw new InvalidInputException(options.Claim is null ? "--claim" : "--mount", "missing: --claim and --mount go together (the claim, and where it is mounted)");
        if (options.Mount is { } m && !m.StartsWith('/')) throw new InvalidInputException("--mount", $"expected an absolute path in the container, found \"{m}\"");
        if (options.Parallelism is < 1) throw new InvalidInputException("--parallelism", $"expected a positive number, found {options.Parallelism}");
        if (options.GpusPerTask is < 1) throw new InvalidInputException("--gpus-per-task", $"expected a positive number, found {options.GpusPerTask}");
        if (options.CpusPerTask is < 1) throw new InvalidInputException("--cpus-per-task", $"expected a positive number, found {options.CpusPerTask}");
    }

    /// <summary>
    /// With a claim, the plan folder where the claim's copy of the working directory is mounted (its relative paths, to the
    /// base model and data, hold there too); without one, the plan folder's own path, for images or nodes that have it.
    /// </summary>
    static string PlanDirectoryInContainer(string root, KubernetesJobOptions options, string workingDirectory)
    {
        if (options.Mount is not { } mount) return root;
        var relative = System.IO.Path.GetRelativePath(workingDirectory, root);
        if (relative == ".." || relative.StartsWith(".." + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal) || System.IO.Path.IsPathRooted(relative))
            throw new InvalidInputException(root, $"--claim holds the current directory ({workingDirectory}), mounted at {mount}: the plan folder must lie inside it");
        var inside = relative == "." ? "" : relative.Replace(System.IO.Path.DirectorySeparatorChar, '/');
        return inside.Length == 0 ? mount : mount.TrimEnd('/') + "/" + inside;
    }

    static Dictionary<string, object> Manifest(string name, int completions, string planDirectory, KubernetesJobOptions options)
    {
        var arguments = new List<string> { "grid", "run", planDirectory };
        if (options.CpusPerTask is { } threads) arguments.AddRange(["--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var limits = new Dictionary<string, object>();
        if (options.CpusPerTask is { } cpus) limits["cpu"] = cpus;
        if (options.GpusPerTask is { } gpus) limits["nvidia.com/gpu"] = gpus;
        var container = new Dictionary<string, object>
        {
            ["name"] = "remix",
            ["image"] = options.Image,
            ["command"] = options.Remix.ToList(),
            // The pod's completion index comes in $JOB_COMPLETION_INDEX, which remix grid run reads.
            ["args"] = arguments,
            // The pod's task, completed by its index: a retry of the index (a new pod, its host name and pid alike or not)
            // takes over the lock an earlier pod of it left.
            ["env"] = new List<object> { new Dictionary<string, object> { ["name"] = SchedulerTask.Variable, ["value"] = $"k8s:{name}" } },
        };
        if (limits.Count > 0) container["resources"] = new Dictionary<string, object> { ["requests"] = limits, ["limits"] = limits };
        var pod = new Dictionary<string, object>
        {
            // backoffLimitPerIndex retries a pod as a new one; it requires Never.
            ["restartPolicy"] = "Never",
            ["terminationGracePeriodSeconds"] = TerminationGracePeriodSeconds,
            ["containers"] = new List<object> { container },
        };
        if (options.Claim is { } claim)
        {
            container["workingDir"] = options.Mount!;
            container["volumeMounts"] = new List<object> { new Dictionary<string, object> { ["name"] = "grid", ["mountPath"] = options.Mount! } };
            pod["volumes"] = new List<object> { new Dictionary<string, object> { ["name"] = "grid", ["persistentVolumeClaim"] = new Dictionary<string, object> { ["claimName"] = claim } } };
        }
        return new Dictionary<string, object>
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = new Dictionary<string, object> { ["name"] = name },
            ["spec"] = new Dictionary<string, object>
            {
                ["completionMode"] = "Indexed",
                ["completions"] = completions,
                ["parallelism"] = options.Parallelism ?? completions,
                ["backoffLimitPerIndex"] = BackoffLimitPerIndex,
                // A retry starts only once the pod before it has ended, so one pod of an index runs at a time, which taking
                // over its lock relies on (the default starts it as soon as the pod before is terminating).
                ["podReplacementPolicy"] = "Failed",
                // A preempted or evicted pod checkpointed on SIGTERM: its retry resumes and is not counted as a failure.
                ["podFailurePolicy"] = new Dictionary<string, object>
                {
                    ["rules"] = new List<object>
                    {
                        new Dictionary<string, object> { ["action"] = "Ignore", ["onPodConditions"] = new List<object> { new Dictionary<string, object> { ["type"] = "DisruptionTarget" } } },
                    },
                },
                ["template"] = new Dictionary<string, object> { ["spec"] = pod },
            },
        };
    }

    /// <summary>The plan folder's name as a Kubernetes name: lower case letters, digits and '-', at most 63 characters.</summary>
    static string JobName(string root)
    {
        var name = NotInName.Replace(System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(root)).ToLowerInvariant(), "-").Trim('-');
        if (name.Length == 0 || !char.IsAsciiLetter(name[0])) name = ("remix-" + name).TrimEnd('-');
        return name.Length > 63 ? name[..63].TrimEnd('-') : name;
    }
}
