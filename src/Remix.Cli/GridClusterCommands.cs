using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using Remix.Experiments;

namespace Remix.Cli;

/// <summary>
/// <c>remix grid slurm</c>: an sbatch array script for a grid's pending entries (and its submission);
/// <c>remix grid k8s</c>: a Kubernetes Indexed Job manifest for every entry.
/// </summary>
public static class GridClusterCommands
{
    public static Command Slurm()
    {
        var dir = new Argument<string>("DIR") { Description = "The plan folder (written by remix grid plan)" };
        var partition = new Option<string>("--partition") { Description = "The partition the array runs in", Required = true };
        var gpus = new Option<int?>("--gpus-per-task") { Description = "GPUs for each task (default: none asked for)" };
        var cpus = new Option<int?>("--cpus-per-task") { Description = "CPUs for each task; remix runs with as many threads (default: the partition's, remix using every core it sees)" };
        var time = new Option<string?>("--time") { Description = "Each task's time limit (minutes, HH:MM:SS or D-HH:MM:SS); SIGUSR1 comes 120 s before it, and the entry checkpoints and requeues (default: the partition's)" };
        var parallelism = new Option<int?>("--array-parallelism") { Description = "How many tasks run at once at most (the array's %K; default: as many as the cluster allows)" };
        var remix = new Option<string?>("--remix") { Description = "The shell command that starts remix on the cluster's nodes (default: this remix, by its absolute path)" };
        var submit = new Option<bool>("--submit") { Description = $"Submit the script with sbatch and print the job id, recorded in DIR/{SlurmArrayScript.DirectoryName}/{SlurmJobs.FileName} so that a later grid slurm leaves out the entries its tasks still queue" };
        var command = new Command("slurm", $"Write DIR/{SlurmArrayScript.DirectoryName}/{SlurmArrayScript.FileName}, an sbatch job array over the grid's pending entries (one log each in DIR/{GridStatus.LogsDirectoryName}), requeued to resume when stopped by SIGUSR1")
        {
            dir, partition, gpus, cpus, time, parallelism, remix, submit,
        };
        var force = new ForceOption($"DIR/{SlurmArrayScript.DirectoryName}/{SlurmArrayScript.FileName} that was edited or not written by remix (remix's own unedited one is replaced without it)");
        force.AddTo(command);
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            var root = parse.GetValue(dir)!;
            var options = new SlurmOptions(parse.GetValue(partition)!, parse.GetValue(gpus), parse.GetValue(cpus), parse.GetValue(time), parse.GetValue(parallelism));
            var start = parse.GetValue(remix) ?? Remix.IO.ShellWords.Quote(SelfCommand.Prefix());
            if (start.Trim().Length == 0) throw new InvalidInputException("--remix", "expected the command that starts remix");
            var queued = QueuedIndices(root, err);
            var script = SlurmArrayScript.Write(root, options, start, Directory.GetCurrentDirectory(), parse.GetValue(force.Option), queued);
            // With nothing pending every entry is left out, and no script says which.
            var left = script?.LeftOut ?? GridStatus.Read(root);
            string leftOut = string.Join(", ", left
                .GroupBy(e => e.State == EntryState.Pending && queued.Contains(e.Index) ? "queued" : GridStatus.Describe(e.State))
                .OrderBy(g => g.Key == "queued" ? -1 : (int)g.First().State).Select(g => $"{g.Count()} {g.Key}"));
            if (script is null)
            {
                o.WriteLine($"{root}: no pending entries ({leftOut}): nothing to run, no script written");
                return 0;
            }
            o.WriteLine($"{script.Path}: {script.Pending.Count} pending entr{(script.Pending.Count == 1 ? "y" : "ies")} as array {script.Array}{(script.Replaced ? " (replacing the script written before)" : "")}");
            if (script.LeftOut.Count > 0) o.WriteLine($"  left out: {leftOut}");
            if (script.Pending.Max(e => e.Index) > 1000)
                err.WriteLine("remix: note: array indices above 1000 need the cluster's MaxArraySize raised (Slurm's default is 1001)");
            if (!parse.GetValue(submit))
            {
                o.WriteLine($"submit it with: sbatch {Remix.IO.ShellWords.Quote([script.Path])}");
                return 0;
            }
            return Submit(root, script.Path, o, err);
        });
        return command;
    }

    /// <summary>
    /// The array indices of the jobs submitted before for plan folder <paramref name="root"/> that squeue lists (queued or
    /// running); where squeue cannot say, none, after one line saying that they may be submitted twice.
    /// </summary>
    static IReadOnlySet<int> QueuedIndices(string root, TextWriter err)
    {
        var jobs = SlurmJobs.Read(root);
        if (jobs.Count == 0) return new HashSet<int>();
        var start = new ProcessStartInfo("squeue") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        // -r: one line an array task (JOB_TASK), or JOB_[0-3%2] for tasks not yet split off.
        foreach (var a in new[] { "-h", "-r", "-j", string.Join(',', jobs), "-o", "%i" }) start.ArgumentList.Add(a);
        string why;
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode == 0) return SlurmJobs.QueuedIndices(stdout.Result, jobs);
            // Every job ended and purged from the controller's memory: none is queued.
            if (stderr.Result.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)) return new HashSet<int>();
            why = $"exit code {process.ExitCode}: {stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "no error printed"}";
        }
        catch (Win32Exception)
        {
            why = "not found";
        }
        err.WriteLine($"remix: note: squeue {why}: entries of the jobs submitted before ({SlurmJobs.PathOf(root)}) that are still queued may be submitted twice");
        return new HashSet<int>();
    }

    /// <summary>
    /// Runs sbatch on the script, prints the job id and records it for plan folder <paramref name="root"/>; one line and
    /// exit code 1 when sbatch is missing or refuses it.
    /// </summary>
    static int Submit(string root, string script, TextWriter o, TextWriter err)
    {
        var start = new ProcessStartInfo("sbatch") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--parsable");
        start.ArgumentList.Add(script);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception)
        {
            err.WriteLine($"remix: --submit: sbatch not found (is this a Slurm login node?); the script is written: sbatch {Remix.IO.ShellWords.Quote([script])}");
            return 1;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            // --parsable prints "JOBID" or "JOBID;CLUSTER".
            var job = stdout.Result.Trim().Split(';')[0];
            if (process.ExitCode != 0 || job.Length == 0 || !job.All(char.IsAsciiDigit))
            {
                var why = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? $"printed \"{stdout.Result.Trim()}\"";
                err.WriteLine($"remix: sbatch {script}: exit code {process.ExitCode}: {why}");
                return 1;
            }
            // Its tasks hold no lock while queued: the next grid slurm leaves them out by this record.
            SlurmJobs.Append(root, job);
            o.WriteLine($"submitted job {job}: squeue -j {job} lists its tasks");
            return 0;
        }
    }

    public static Command K8s()
    {
        var dir = new Argument<string>("DIR") { Description = "The plan folder (written by remix grid plan)" };
        var image = new Option<string>("--image") { Description = "The container image, with remix in it", Required = true };
        var claim = new Option<string?>("--claim") { Description = "A PersistentVolumeClaim holding the current directory (the plan folder, base model and data inside it); with --mount (default: none, the pods run the plan folder by its path here)" };
        var mount = new Option<string?>("--mount") { Description = "Where the claim is mounted in the container; the plan folder is run from there (default: none; with --claim)" };
        var parallelism = new Option<int?>("--parallelism") { Description = "How many pods run at once at most (default: every entry)" };
        var gpus = new Option<int?>("--gpus-per-task") { Description = "GPUs for each pod, as nvidia.com/gpu (default: none asked for)" };
        var cpus = new Option<int?>("--cpus-per-task") { Description = "CPUs for each pod; remix runs with as many threads (default: none asked for, remix using every core it sees)" };
        var remix = new Option<string>("--remix") { Description = "The command that starts remix in the image, its words separated by spaces", DefaultValueFactory = _ => "remix" };
        var command = new Command("k8s", $"Write DIR/{KubernetesJob.DirectoryName}/{KubernetesJob.FileName}, a Kubernetes Indexed Job over every entry of the grid (a finished entry's pod does nothing)")
        {
            dir, image, claim, mount, parallelism, gpus, cpus, remix,
        };
        var force = new ForceOption($"DIR/{KubernetesJob.DirectoryName}/{KubernetesJob.FileName} that was edited or not written by remix (remix's own unedited one is replaced without it)");
        force.AddTo(command);
        command.SetAction(parse =>
        {
            var options = new KubernetesJobOptions(parse.GetValue(image)!, parse.GetValue(remix)!.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                parse.GetValue(claim), parse.GetValue(mount), parse.GetValue(parallelism), parse.GetValue(gpus), parse.GetValue(cpus));
            var job = KubernetesJob.Write(parse.GetValue(dir)!, options, Directory.GetCurrentDirectory(), parse.GetValue(force.Option));
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"{job.Path}: Indexed Job {job.Name}, {job.Completions} completions (one per entry), running remix grid run {job.PlanDirectory}");
            o.WriteLine($"start it with: kubectl apply -f {Remix.IO.ShellWords.Quote([job.Path])}");
            return 0;
        });
        return command;
    }
}
