using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Remix.IO;

namespace Remix.Experiments;

/// <summary>
/// An sbatch script that runs a grid's pending entries as one Slurm job array (each array index the entry's line of
/// runs.jsonl), written into the plan folder: <c>slurm/grid.sbatch</c>, and <c>logs/</c> for one log per entry.
/// </summary>
/// <param name="Path">Where the script is.</param>
/// <param name="Array">The array's indices as sbatch takes them (<c>0-3,7,9-11</c>, with <c>%K</c> when limited).</param>
/// <param name="Pending">The entries it runs.</param>
/// <param name="LeftOut">The entries it leaves out (done, running, failed, and pending ones queued already).</param>
/// <param name="Replaced">Whether it replaced a script that differed (an earlier one, for other entries or options, or edited and forced).</param>
public sealed record SlurmArrayScript(string Path, string Array, IReadOnlyList<EntryStatus> Pending, IReadOnlyList<EntryStatus> LeftOut, bool Replaced)
{
    /// <summary>The folder of the plan folder that holds the script.</summary>
    public const string DirectoryName = "slurm";

    /// <summary>The script's file name.</summary>
    public const string FileName = "grid.sbatch";


    /// <summary>The exit code of a remix stopped by SIGUSR1 (128 + 10 on Linux), on which the task is requeued.</summary>
    public const int InterruptedByUsr1 = 138;

    /// <summary>The first comment line, by which a script is known as remix's.</summary>
    public const string Marker = "# Written by remix grid slurm";

    // sbatch's forms of a time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
    static readonly Regex TimeLimit = new(@"^(\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+|UNLIMITED|INFINITE)$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Writes the script for the pending entries of <paramref name="directory"/> but those whose index is in
    /// <paramref name="queued"/>, tasks of a job submitted before still queued (none: writes nothing and returns null).
    /// <paramref name="remix"/> is the shell text that starts remix on the cluster; <paramref name="workingDirectory"/> the
    /// folder each task starts in. A script there that is not remix's unedited one is refused unless <paramref name="force"/>.
    /// </summary>
    public static SlurmArrayScript? Write(string directory, SlurmOptions options, string remix, string workingDirectory, bool force = false, IReadOnlySet<int>? queued = null)
    {
        Check(options);
        var root = System.IO.Path.GetFullPath(directory);
        var entries = GridStatus.Read(root);
        bool Runs(EntryStatus e) => e.State == EntryState.Pending && queued?.Contains(e.Index) != true;
        var pending = entries.Where(Runs).ToList();
        var leftOut = entries.Where(e => !Runs(e)).ToList();
        if (pending.Count == 0) return null;
        var array = Ranges(pending.Select(e => e.Index)) + (options.ArrayParallelism is { } k ? $"%{k}" : "");
        var text = Text(root, array, options, remix, System.IO.Path.GetFullPath(workingDirectory));
        var path = System.IO.Path.Combine(root, DirectoryName, FileName);
        bool replaced = File.Exists(path) && File.ReadAllText(path) != MarkedFile.Marked(text);
        // People add to the script (--account, module load): an edited one is theirs, and replaced only when forced.
        MarkedFile.Write(path, text, force);
        // Slurm opens each task's log but does not create its folder: a task whose folder is missing fails at once.
        Directory.CreateDirectory(System.IO.Path.Combine(root, GridStatus.LogsDirectoryName));
        return new SlurmArrayScript(path, array, pending, leftOut, replaced);
    }

    /// <summary>Indices in increasing order as sbatch's <c>--array</c> takes them: runs of two or more as <c>A-B</c>, joined by commas.</summary>
    public static string Ranges(IEnumerable<int> indices)
    {
        var sorted = indices.Distinct().Order().ToList();
        var parts = new List<string>();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(j == i ? Number(sorted[i]) : $"{Number(sorted[i])}-{Number(sorted[j])}");
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    static void Check(SlurmOptions options)
    {
        if (options.Partition.Length == 0 || options.Partition.Any(char.IsWhiteSpace))
            throw new InvalidInputException("--partition", $"expected a partition name, found \"{options.Partition}\"");
        if (options.GpusPerTask is < 1) throw new InvalidInputException("--gpus-per-task", $"expected a positive number, found {options.GpusPerTask}");
        if (options.CpusPerTask is < 1) throw new InvalidInputException("--cpus-per-task", $"expected a positive number, found {options.CpusPerTask}");
        if (options.ArrayParallelism is < 1) throw new InvalidInputException("--array-parallelism", $"expected a positive number, found {options.ArrayParallelism}");
        if (options.Time is { } t && !TimeLimit.IsMatch(t))
            throw new InvalidInputException("--time", $"expected minutes, HH:MM:SS or D-HH:MM:SS, found \"{t}\"");
    }

    static string Text(string root, string array, SlurmOptions options, string remix, string workingDirectory)
    {
        // An #SBATCH line ends at white space, and % starts a file name pattern in --output.
        foreach (var (what, path) in new[] { ("the plan folder", root), ("the current directory", workingDirectory) })
            if (path.Any(char.IsWhiteSpace)) throw new InvalidInputException(path, $"{what}'s path holds white space, which an #SBATCH line cannot take");
        var log = GridStatus.LogPath(root, 0)[..^"0.log".Length].Replace("%", "%%") + "%a.log";
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append($"#SBATCH --job-name={JobName(root)}\n");
        s.Append($"#SBATCH --partition={options.Partition}\n");
        s.Append($"#SBATCH --array={array}\n");
        if (options.CpusPerTask is { } cpus) s.Append($"#SBATCH --cpus-per-task={Number(cpus)}\n");
        if (options.GpusPerTask is { } gpus) s.Append($"#SBATCH --gpus-per-task={Number(gpus)}\n");
        if (options.Time is { } time) s.Append($"#SBATCH --time={time}\n");
        s.Append($"#SBATCH --chdir={workingDirectory}\n");
        // One log per entry, its errors included; a requeued task appends to it, so each try of the entry is in one place.
        s.Append($"#SBATCH --output={log}\n");
        s.Append($"#SBATCH --error={log}\n");
        s.Append("#SBATCH --open-mode=append\n");
        s.Append("#SBATCH --requeue\n");
        // B: sends the signal to this batch shell (without it only job steps get it, and remix runs in none).
        s.Append("#SBATCH --signal=B:USR1@120\n");
        s.Append($$"""
            {{Marker}} for the entries of {{GridPlan.RunsFileName}} pending when it was written; each array index is an entry's line, from 0.
            # Before the time limit Slurm sends SIGUSR1 to this shell, which passes it on to remix: the entry checkpoints and
            # stops with exit code {{InterruptedByUsr1}}, and the task requeues itself to resume where it stopped (in the same log).

            echo "remix grid slurm: task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname), restart ${SLURM_RESTART_COUNT:-0}, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
            if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then set -- --threads "$SLURM_CPUS_PER_TASK"; else set --; fi
            pid= signalled=
            trap 'signalled=1; [ -n "$pid" ] && kill -USR1 "$pid" 2>/dev/null' USR1
            # SIGTERM (scancel, preemption) reaches remix from Slurm itself; this shell only waits for it to finish.
            trap 'signalled=1' TERM
            # In the background, so that this shell can take SIGUSR1 while remix runs: bash runs traps between commands only.
            {{remix}} grid run {{ShellWords.Quote(root)}} "$@" &
            pid=$!
            # wait returns early, above 128, when a trapped signal arrives: wait again until remix itself has exited.
            wait "$pid"; code=$?
            while [ -n "$signalled" ]; do signalled=; wait "$pid"; code=$?; done
            if [ "$code" -eq {{InterruptedByUsr1}} ]; then
              echo "remix grid slurm: checkpointed on SIGUSR1: requeueing ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} to resume the entry"
              scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
            fi
            exit "$code"

            """);
        return s.ToString();
    }

    /// <summary>The plan folder's name: what squeue shows for the array.</summary>
    static string JobName(string root)
    {
        var name = System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(root));
        return name.Length == 0 ? "remix-grid" : name;
    }

    static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);
}
