using System.ComponentModel;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Remix.Experiments;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

/// <summary>
/// <c>remix grid slurm --submit</c> on a real Slurm (<c>.ci/slurm-up</c> starts one on this machine): skipped, saying
/// why, where none answers.
/// </summary>
public class GridSlurmTests
{
    [SkippableFact]
    public void Submit_RunsEveryEntryAsATaskOfTheArray_OneLogEach_AndTheReportTakesTheirResults()
    {
        var partition = IdlePartition();
        using var dir = new TempDir();
        var (plan, ids) = MicroGrid.Plan(dir, 2, 1, 2);

        var job = Submit(plan, partition);
        WaitForTheJob(job, plan);

        var entries = GridStatus.Read(plan);
        Assert.Equal(4, entries.Count);
        foreach (var entry in entries)
        {
            var log = GridStatus.LogPath(plan, entry.Index);
            Assert.True(entry.State == EntryState.Done, $"entry {entry.Index} is {GridStatus.Describe(entry.State)}; its log: {(File.Exists(log) ? File.ReadAllText(log) : "none")}");
            Assert.Contains($"entry {entry.Index} ({ids[entry.Index]}): results: ", File.ReadAllText(log));
        }
        Assert.Equal(4, Directory.GetFiles(Path.Combine(plan, "logs")).Length);
        var report = Support.Cli.Run("report", plan);
        Assert.True(report.Code == 0, report.Err);
        Assert.DoesNotContain("not finished", report.Out);
        // Its long table holds every task's accuracies as its results.json has them.
        var rows = File.ReadAllLines(Path.Combine(plan, "results.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        foreach (var entry in entries)
        {
            var matrix = ExperimentResults.Read(Path.Combine(GridStatus.RunDirectory(plan, entry.Id), "results.json")).AccuracyMatrix;
            var accuracy = rows.Where(r => r[1] == entry.Id && r[^2] == "accuracy").Select(r => double.Parse(r[^1], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(matrix.SelectMany(row => row).OfType<double>(), accuracy);
        }
    }

    [SkippableFact]
    public void Usr1ToARunningTask_CheckpointsIt_RequeuesIt_AndOnItsRestartTheEntryResumesAndFinishes()
    {
        var partition = IdlePartition();
        using var dir = new TempDir();
        var (plan, id) = MicroGrid.PlanLong(dir);
        var stage = Path.Combine(GridStatus.RunDirectory(plan, id), "stage-1-A");

        var job = Submit(plan, partition);
        var clock = Stopwatch.StartNew();
        while (MicroGrid.LoggedSteps(stage) < 20)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "the task did not start training within a minute");
            Thread.Sleep(50);
        }
        // --batch: to the batch shell, as --signal=B:USR1 sends it before the time limit.
        var signal = Command("scancel", "--signal=USR1", "--batch", $"{job}_0");
        Assert.True(signal.Code == 0, signal.Output);
        WaitForTheJob(job, plan);

        var log = File.ReadAllText(GridStatus.LogPath(plan, 0));
        Assert.True(GridStatus.Read(plan).Single().State == EntryState.Done, log);
        Assert.Contains("remix: interrupted by SIGUSR1 in stage A", log);
        Assert.Contains($"requeueing {job}_0 to resume the entry", log);
        Assert.Contains("restart 1", log);
        Assert.Contains("resumed from", log);
    }

    [SkippableFact]
    public void SubmitAgain_WhileTheFirstJobsTasksAreQueuedOrRunning_SubmitsNothing()
    {
        var partition = IdlePartition();
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 1, 1, 2);

        // One task at a time: the second waits in the queue, holding no lock.
        var job = Submit(plan, partition, "--array-parallelism", "1");
        var again = CliProcess.Run("grid", "slurm", plan, "--partition", partition, "--cpus-per-task", "1", "--submit");
        WaitForTheJob(job, plan);

        Assert.True(again.Code == 0, again.Err);
        // Each entry queued, running or (a fast one) done by now: none pending.
        Assert.StartsWith($"{plan}: no pending entries (", again.Out);
        Assert.Contains("queued", again.Out);
        Assert.Equal([job], File.ReadAllLines(Path.Combine(plan, "slurm", "jobs")));
        Assert.All(GridStatus.Read(plan), e => Assert.Equal(EntryState.Done, e.State));
    }

    // Asked once: sinfo takes seconds to give up on a controller that is not running.
    static readonly Lazy<(int? Code, string Output)> Sinfo = new(() => Command("sinfo", "-h", "-o", "%P %T"));

    /// <summary>A partition with an idle node (the default one first), or the test is skipped with the reason.</summary>
    static string IdlePartition()
    {
        // .ci/run passes on why .ci/slurm-up could not start Slurm here.
        var why = Environment.GetEnvironmentVariable("REMIX_SLURM_UNAVAILABLE");
        var (code, output) = Sinfo.Value;
        Skip.If(code is null, why ?? "no Slurm here (sinfo not found): .ci/slurm-up starts one on this machine");
        Skip.If(code != 0, why ?? $"Slurm does not answer: sinfo: {output.Trim()}");
        var partition = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
            .Where(f => f.Length == 2 && f[1] is "idle" or "mixed").Select(f => f[0]).OrderBy(p => p.EndsWith('*') ? 0 : 1).FirstOrDefault();
        Skip.If(partition is null, why ?? $"Slurm has no idle node: {output.Trim()}");
        return partition.TrimEnd('*');
    }

    static string Submit(string plan, string partition, params string[] options)
    {
        var r = CliProcess.Run(["grid", "slurm", plan, "--partition", partition, "--cpus-per-task", "1", "--submit", .. options]);
        Assert.True(r.Code == 0, r.Err);
        var job = Regex.Match(r.Out, @"submitted job (\d+)");
        Assert.True(job.Success, r.Out);
        return job.Groups[1].Value;
    }

    /// <summary>Polls squeue until the job has left the queue (every task finished); cancels it after three minutes.</summary>
    static void WaitForTheJob(string job, string plan)
    {
        var clock = Stopwatch.StartNew();
        // squeue lists a requeued task as pending; once the job has ended it lists nothing (or, purged, refuses the id).
        while (Command("squeue", "-h", "-j", job) is { Code: 0, Output: var queued } && queued.Trim().Length > 0)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(3))
            {
                Command("scancel", job);
                var logs = Directory.Exists(Path.Combine(plan, "logs")) ? string.Join("\n", Directory.GetFiles(Path.Combine(plan, "logs")).Select(File.ReadAllText)) : "no logs";
                Assert.Fail($"job {job} still queued after three minutes:\n{queued}\n{logs}");
            }
            Thread.Sleep(250);
        }
    }

    /// <summary>Runs a command to its end: its exit code (null when it is not installed) and its output and errors.</summary>
    static (int? Code, string Output) Command(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(start)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout + stderr.Result);
        }
        catch (Win32Exception)
        {
            return (null, "");
        }
    }
}
