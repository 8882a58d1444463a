using System.Diagnostics;
using Remix.Cli;
using Remix.Experiments;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

/// <summary><c>remix grid slurm</c> without a Slurm: the script it writes, and that script run by bash with a fake scontrol.</summary>
public class GridSlurmScriptTests
{
    [Theory]
    [InlineData(new[] { 0, 1, 2, 3, 7, 9, 10, 11 }, "0-3,7,9-11")]
    [InlineData(new[] { 5 }, "5")]
    [InlineData(new[] { 4, 3 }, "3-4")]
    [InlineData(new[] { 8, 0, 2, 2, 1 }, "0-2,8")]
    public void Ranges_AreIncreasing_WithRunsOfTwoOrMoreAsAToB(int[] indices, string expected) =>
        Assert.Equal(expected, SlurmArrayScript.Ranges(indices));

    static void MarkDone(string plan, string id)
    {
        var run = GridStatus.RunDirectory(plan, id);
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, ExperimentResults.FileName), "{}");
        File.WriteAllText(Path.Combine(run, RunLayout.DoneMarker), "");
    }

    [Fact]
    public void Slurm_ScriptsExactlyThePendingEntries_Compressed_WithTheOptions_RequeueAndSignalToTheBatchShell_AndIsValidBash()
    {
        using var dir = new TempDir();
        var (plan, ids) = MicroGrid.Plan(dir, 2, 1, 2, 3);
        Assert.Equal(6, ids.Length);
        MarkDone(plan, ids[2]);
        GridStatus.RecordFailure(GridStatus.RunDirectory(plan, ids[3]), "boom");

        var r = Support.Cli.Run("grid", "slurm", plan, "--partition", "gpu", "--gpus-per-task", "1", "--cpus-per-task", "2", "--time", "1:00:00", "--array-parallelism", "2");

        Assert.True(r.Code == 0, r.Err);
        var path = Path.Combine(plan, "slurm", "grid.sbatch");
        Assert.Equal($"{path}: 4 pending entries as array 0-1,4-5%2", r.Out.Split('\n')[0]);
        Assert.Contains("  left out: 1 done, 1 failed", r.Out);
        var lines = File.ReadAllLines(path);
        var directives = lines.Where(l => l.StartsWith("#SBATCH ")).Select(l => l["#SBATCH ".Length..]).ToList();
        string log = Path.Combine(plan, "logs", "entry-%a.log");
        Assert.Equal(
            ["--job-name=plan", "--partition=gpu", "--array=0-1,4-5%2", "--cpus-per-task=2", "--gpus-per-task=1", "--time=1:00:00",
             $"--chdir={Directory.GetCurrentDirectory()}", $"--output={log}", $"--error={log}", "--open-mode=append", "--requeue", "--signal=B:USR1@120"],
            directives);
        Assert.Single(lines, l => l.Contains($"grid run {plan} \"$@\" &") && l.StartsWith(Remix.IO.ShellWords.Quote(SelfCommand.Prefix())));
        Assert.Contains("  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"", lines);
        Assert.True(Directory.Exists(Path.Combine(plan, "logs")), "Slurm does not create the logs' folder");
        var check = Bash(new Dictionary<string, string?>(), "-n", path);
        Assert.True(check.Code == 0, check.Err);
    }

    [Fact]
    public void Slurm_WithRemix_StartsThatCommand_AndLeavesOutOptionsNotGiven()
    {
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 1, 1, 2);

        var r = Support.Cli.Run("grid", "slurm", plan, "--partition", "cpu", "--remix", "srun /opt/remix/remix");

        Assert.True(r.Code == 0, r.Err);
        var text = File.ReadAllText(Path.Combine(plan, "slurm", "grid.sbatch"));
        Assert.Contains($"\nsrun /opt/remix/remix grid run {plan} \"$@\" &\n", text);
        Assert.Contains("#SBATCH --array=0-1\n", text);
        Assert.DoesNotContain("--time", text);
        Assert.DoesNotContain("--gpus-per-task", text);
        Assert.DoesNotContain("left out", r.Out);
    }

    [Fact]
    public void Slurm_NothingPending_SaysSo_ExitsZero_AndWritesNothing()
    {
        using var dir = new TempDir();
        var (plan, ids) = MicroGrid.Plan(dir, 1, 1, 2);
        foreach (var id in ids) MarkDone(plan, id);

        var r = Support.Cli.Run("grid", "slurm", plan, "--partition", "cpu", "--submit");

        Assert.True(r.Code == 0, r.Err);
        Assert.Equal($"{plan}: no pending entries (2 done): nothing to run, no script written", r.Out.Trim());
        Assert.False(Directory.Exists(Path.Combine(plan, "slurm")));
        Assert.False(Directory.Exists(Path.Combine(plan, "logs")));
    }

    [Fact]
    public void Slurm_ReplacesItsOwnUneditedScript_ButAnEditedOneOrAnotherFile_OnlyWithForce_SayingSoInOneLine()
    {
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 1, 1);
        var path = Path.Combine(plan, "slurm", "grid.sbatch");
        string[] slurm = ["grid", "slurm", plan, "--partition", "cpu"];
        Assert.Equal(0, Support.Cli.Run(slurm).Code);

        var again = Support.Cli.Run([.. slurm, "--time", "10"]);
        var edited = File.ReadAllText(path).Replace("#SBATCH --partition=cpu\n", "#SBATCH --partition=cpu\n#SBATCH --account=lab\n");
        File.WriteAllText(path, edited);
        var refused = Support.Cli.Run([.. slurm, "--time", "20"]);
        var keptEdited = File.ReadAllText(path);
        File.WriteAllText(path, "#!/bin/bash\nsbatch by hand\n");
        var foreign = Support.Cli.Run(slurm);
        var forced = Support.Cli.Run([.. slurm, "--force"]);

        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("(replacing the script written before)", again.Out);
        Assert.NotEqual(0, refused.Code);
        Assert.Equal($"remix: {path}: edited since remix wrote it; --force replaces it", refused.Err.Trim());
        Assert.Equal(edited, keptEdited);
        Assert.NotEqual(0, foreign.Code);
        Assert.Equal($"remix: {path}: not written by remix (no \"# remix-sha256:\" line); --force replaces it", foreign.Err.Trim());
        Assert.True(forced.Code == 0, forced.Err);
        Assert.DoesNotContain("by hand", File.ReadAllText(path));
        Assert.StartsWith("# remix-sha256: ", File.ReadAllLines(path)[^1]);
    }

    [Theory]
    [InlineData("--time", "soon", "remix: --time: expected minutes, HH:MM:SS or D-HH:MM:SS, found \"soon\"")]
    [InlineData("--cpus-per-task", "0", "remix: --cpus-per-task: expected a positive number, found 0")]
    [InlineData("--array-parallelism", "-1", "remix: --array-parallelism: expected a positive number, found -1")]
    public void Slurm_ABadOption_IsRefusedInOneLineNamingIt_WritingNothing(string option, string value, string expected)
    {
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 1, 1);

        var r = Support.Cli.Run("grid", "slurm", plan, "--partition", "cpu", option, value);

        Assert.NotEqual(0, r.Code);
        Assert.Equal(expected, r.Err.Trim());
        Assert.False(Directory.Exists(Path.Combine(plan, "slurm")));
    }

    [Fact]
    public void Slurm_Submit_PrintsSbatchsJobId_AndWithoutSbatchOrWhenItFails_SaysSoInOneLine()
    {
        if (!OperatingSystem.IsLinux()) return; // fake commands are shell scripts
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 1, 1);
        var bin = dir.File("bin");
        Directory.CreateDirectory(bin);
        var sbatch = Path.Combine(bin, "sbatch");
        string[] submit = ["grid", "slurm", plan, "--partition", "cpu", "--submit"];
        string path = $"{bin}:/usr/bin:/bin";

        // Nothing queued: the job recorded by the first submission has ended (and no Slurm installed here is asked).
        FakeCommand(Path.Combine(bin, "squeue"), "exit 0");
        FakeCommand(sbatch, "echo \"$@\" > \"$(dirname \"$0\")/args\"; echo '42;cluster'");
        var ok = CliProcess.Run(new Dictionary<string, string?> { ["PATH"] = path }, submit);
        FakeCommand(sbatch, "echo 'sbatch: error: invalid partition specified: cpu' >&2; exit 1");
        var refused = CliProcess.Run(new Dictionary<string, string?> { ["PATH"] = path }, submit);
        File.Delete(sbatch);
        var missing = CliProcess.Run(new Dictionary<string, string?> { ["PATH"] = bin }, submit);

        var script = Path.Combine(plan, "slurm", "grid.sbatch");
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Equal($"--parsable {script}", File.ReadAllText(Path.Combine(bin, "args")).Trim());
        Assert.Equal("submitted job 42: squeue -j 42 lists its tasks", ok.Out.Trim().Split('\n')[^1]);
        Assert.Equal(1, refused.Code);
        Assert.Equal($"remix: sbatch {script}: exit code 1: sbatch: error: invalid partition specified: cpu", refused.Err.Trim());
        Assert.Equal(1, missing.Code);
        Assert.Equal($"remix: --submit: sbatch not found (is this a Slurm login node?); the script is written: sbatch {script}", missing.Err.Trim());
    }

    [Theory]
    [InlineData("42_1\n42_[3-4%2]\n7_0\n", new[] { 1, 3, 4 })]
    [InlineData("42_[0,2-3]\n43_5\n", new[] { 0, 2, 3, 5 })]
    [InlineData("", new int[0])]
    public void QueuedIndices_AreTheTasksSqueueListsOfTheRecordedJobs_SplitOrNot(string squeue, int[] expected) =>
        Assert.Equal(expected, SlurmJobs.QueuedIndices(squeue, ["42", "43"]).Order());

    [Fact]
    public void Slurm_Submit_RecordsTheJob_LeavesOutEntriesItsTasksStillQueue_AndWhereSqueueFails_SaysTheyMayBeQueuedTwice()
    {
        if (!OperatingSystem.IsLinux()) return; // fake commands are shell scripts
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 2, 1, 2, 3);
        var bin = dir.File("bin");
        Directory.CreateDirectory(bin);
        var environment = new Dictionary<string, string?> { ["PATH"] = $"{bin}:/usr/bin:/bin" };
        string[] submit = ["grid", "slurm", plan, "--partition", "cpu", "--submit"];
        FakeCommand(Path.Combine(bin, "sbatch"), "n=$(cat \"$(dirname \"$0\")/n\" 2>/dev/null || echo 41); n=$((n+1)); echo $n > \"$(dirname \"$0\")/n\"; echo $n");
        var squeue = Path.Combine(bin, "squeue");
        FakeCommand(squeue, "echo \"$@\" > \"$(dirname \"$0\")/squeue-args\"; printf '42_1\\n42_[3-4%%2]\\n'");

        var first = CliProcess.Run(environment, submit);
        var second = CliProcess.Run(environment, submit);
        var squeueArgs = File.ReadAllText(Path.Combine(bin, "squeue-args")).Trim();
        FakeCommand(squeue, "echo 'squeue: error: Unable to contact slurm controller' >&2; exit 1");
        var unanswered = CliProcess.Run(environment, submit);
        FakeCommand(squeue, "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1");
        var ended = CliProcess.Run(environment, submit);

        Assert.True(first.Code == 0, first.Err);
        Assert.Contains("6 pending entries as array 0-5", first.Out);
        Assert.True(second.Code == 0, second.Err);
        Assert.Equal("-h -r -j 42 -o %i", squeueArgs);
        Assert.Contains("3 pending entries as array 0,2,5", second.Out);
        Assert.Contains("  left out: 3 queued", second.Out);
        Assert.Equal("", second.Err.Trim());
        Assert.True(unanswered.Code == 0, unanswered.Err);
        Assert.Equal($"remix: note: squeue exit code 1: squeue: error: Unable to contact slurm controller: entries of the jobs submitted before ({Path.Combine(plan, "slurm", "jobs")}) that are still queued may be submitted twice", unanswered.Err.Trim());
        Assert.Contains("6 pending entries as array 0-5", unanswered.Out);
        Assert.True(ended.Code == 0, ended.Err);
        Assert.Equal("", ended.Err.Trim());
        Assert.Equal(["42", "43", "44", "45"], File.ReadAllLines(Path.Combine(plan, "slurm", "jobs")));
    }

    [Fact]
    public void Script_PassesUsr1OnToRemix_RequeuesItsTaskOnExit138_AndRunAgainTheEntryResumesAndFinishes()
    {
        if (!OperatingSystem.IsLinux()) return; // signal numbers are Linux's
        using var dir = new TempDir();
        var (plan, id) = MicroGrid.PlanLong(dir);
        var bin = dir.File("bin");
        Directory.CreateDirectory(bin);
        FakeCommand(Path.Combine(bin, "scontrol"), "echo \"$@\" >> \"$(dirname \"$0\")/calls\"");
        Assert.Equal(0, Support.Cli.Run("grid", "slurm", plan, "--partition", "cpu", "--cpus-per-task", "1").Code);
        var script = Path.Combine(plan, "slurm", "grid.sbatch");
        var task = new Dictionary<string, string?>
        {
            ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}",
            ["SLURM_ARRAY_JOB_ID"] = "77", ["SLURM_ARRAY_TASK_ID"] = "0", ["SLURM_CPUS_PER_TASK"] = "1", ["JOB_COMPLETION_INDEX"] = null,
        };
        var stage = Path.Combine(GridStatus.RunDirectory(plan, id), "stage-1-A");

        (int Code, string Out, string Err) first;
        using (var shell = StartBash(task, script))
        {
            Assert.True(WaitUntil(shell, () => MicroGrid.LoggedSteps(stage) >= 20), "the entry ended before it could be interrupted");
            Assert.Equal(0, Kill(shell.Id, 10));
            first = Finish(shell);
        }
        task["SLURM_RESTART_COUNT"] = "1";
        var second = Bash(task, script);

        Assert.True(first.Code == 138, first.Out + first.Err);
        Assert.Contains("remix: interrupted by SIGUSR1 in stage A", first.Err);
        Assert.Contains("requeueing 77_0 to resume the entry", first.Out);
        Assert.Equal(["requeue 77_0"], File.ReadAllLines(Path.Combine(bin, "calls")));
        Assert.True(second.Code == 0, second.Err);
        Assert.Contains("restart 1", second.Out);
        Assert.Contains("resumed from", second.Err);
        Assert.Equal(EntryState.Done, GridStatus.Read(plan).Single().State);
        Assert.Single(File.ReadAllLines(Path.Combine(bin, "calls"))); // not requeued again
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    static void FakeCommand(string path, string body)
    {
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    static Process StartBash(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment)
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        return Process.Start(start)!;
    }

    static (int Code, string Out, string Err) Bash(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        using var p = StartBash(environment, args);
        return Finish(p);
    }

    static (int Code, string Out, string Err) Finish(Process p)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("the script did not end within two minutes");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    static bool WaitUntil(Process p, Func<bool> ready)
    {
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            if (p.HasExited || clock.Elapsed > TimeSpan.FromMinutes(2)) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);
}
