using System.Text.Json.Nodes;
using Remix.Tests.Support;
using static Remix.Tests.Experiments.ExperimentRunnerTests;

namespace Remix.Tests.Experiments;

public class GridRunTests
{
    /// <summary>
    /// Two entries on the micro model that begin with the same stage A and differ in stage B's epochs, planned into plan/.
    /// </summary>
    internal static (TempDir Dir, string Plan, string[] Ids) Planned()
    {
        var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        Directory.CreateDirectory(dir.File("grids"));
        var grid = Write(dir.File("grid.yaml"), """
            name: g
            base_model: base
            seeds: [0]
            recipe: {lr: 0.01, epochs: 1, batch_size: 4}
            stages:
              - {name: A, data: a.jsonl}
              - {name: B, data: b.jsonl}
            axes:
              stages[1].recipe.epochs: [1, 2]
            """);
        var plan = Path.Combine(dir.File("grids"), "plan");
        var r = Support.Cli.Run("grid", "plan", grid, "--out", plan);
        Assert.True(r.Code == 0, r.Err);
        var ids = File.ReadAllLines(Path.Combine(plan, "runs.jsonl")).Select(l => JsonNode.Parse(l)!["id"]!.GetValue<string>()).ToArray();
        Assert.Equal(2, ids.Length);
        return (dir, plan, ids);
    }

    static string RunDir(string plan, string id) => Path.Combine(plan, "runs", id);

    [Fact]
    public void Run_FinishesTheEntryIntoRunsId_ReleasesItsLock_AndAgainDoesNothing()
    {
        var (dir, plan, ids) = Planned();
        using var _ = dir;

        var first = Support.Cli.Run("grid", "run", plan, "--index", "0");

        Assert.True(first.Code == 0, first.Err);
        var results = Path.Combine(RunDir(plan, ids[0]), "results.json");
        Assert.True(File.Exists(results));
        Assert.Contains($"entry 0 ({ids[0]}): results: {results}", first.Out);
        Assert.False(File.Exists(RunDir(plan, ids[0]) + ".lock"));
        Assert.False(Directory.Exists(RunDir(plan, ids[1])));
        // The run folder records what produced it: its config snapshot is the entry's spec as runs.jsonl plans it.
        var planned = JsonNode.Parse(File.ReadLines(Path.Combine(plan, "runs.jsonl")).First())!["spec"];
        Assert.True(JsonNode.DeepEquals(planned, JsonNode.Parse(File.ReadAllText(Path.Combine(RunDir(plan, ids[0]), "config.json")))));
        var written = File.GetLastWriteTimeUtc(results);

        var again = Support.Cli.Run("grid", "run", plan, "--index", "0");

        Assert.True(again.Code == 0, again.Err);
        Assert.Contains($"entry 0 ({ids[0]}): already finished: {results}", again.Out);
        Assert.Equal(written, File.GetLastWriteTimeUtc(results));
    }

    [Fact]
    public void Run_TheSecondEntry_ReusesTheFirstEntrysStageA_FromTheGridsSharedStages()
    {
        var (dir, plan, ids) = Planned();
        using var _ = dir;

        Assert.Equal(0, Support.Cli.Run("grid", "run", plan, "--index", "0").Code);
        var second = Support.Cli.Run("grid", "run", plan, "--index", "1");

        Assert.True(second.Code == 0, second.Err);
        Assert.Contains("stage A: this training was already done; reusing", second.Err);
        Assert.True(File.Exists(Path.Combine(RunDir(plan, ids[1]), "results.json")));
        Assert.Single(Directory.GetDirectories(Path.Combine(plan, "shared-stages"), "1-A-*"));
    }

    [Fact]
    public void Plan_StoresItsBaseDirectoryRelativeToThePlanFolder_SoAMovedGridFolderStillRuns()
    {
        var (dir, plan, ids) = Planned();
        using var _ = dir;
        Assert.Equal(Path.Combine("..", ".."), JsonNode.Parse(File.ReadAllText(Path.Combine(plan, "plan.json")))!["base_directory"]!.GetValue<string>());

        using var elsewhere = new TempDir();
        var moved = elsewhere.File("moved");
        Directory.Move(dir.Path, moved);
        Directory.CreateDirectory(dir.Path); // for the TempDir to delete
        var movedPlan = Path.Combine(moved, "grids", "plan");
        var r = Support.Cli.Run("grid", "run", movedPlan, "--index", "1");

        Assert.True(r.Code == 0, r.Err);
        Assert.True(File.Exists(Path.Combine(RunDir(movedPlan, ids[1]), "results.json")));
    }

    [Fact]
    public void Run_WithoutIndex_TakesSlurmArrayTaskId_BeforeJobCompletionIndex_AndWithNeitherRefusesInOneLine()
    {
        var (dir, plan, ids) = Planned();
        using var _ = dir;

        var slurm = CliProcess.Run(new Dictionary<string, string?> { ["SLURM_ARRAY_TASK_ID"] = "1", ["JOB_COMPLETION_INDEX"] = "0" }, "grid", "run", plan);
        var neither = CliProcess.Run(new Dictionary<string, string?> { ["SLURM_ARRAY_TASK_ID"] = null, ["JOB_COMPLETION_INDEX"] = null }, "grid", "run", plan);

        Assert.True(slurm.Code == 0, slurm.Err);
        Assert.True(File.Exists(Path.Combine(RunDir(plan, ids[1]), "results.json")));
        Assert.False(Directory.Exists(RunDir(plan, ids[0])));
        Assert.NotEqual(0, neither.Code);
        Assert.Equal("remix: --index: missing: pass --index I, or run as a job array task ($SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX set)", neither.Err.Trim());
    }

    [Fact]
    public void Run_IndexOutOfRange_IsRefusedInOneLine_NamingRunsJsonlAndTheCount()
    {
        var (dir, plan, _) = Planned();
        using var __ = dir;

        var r = Support.Cli.Run("grid", "run", plan, "--index", "2");

        Assert.NotEqual(0, r.Code);
        Assert.Equal($"remix: {Path.Combine(plan, "runs.jsonl")}: no entry 2: it holds 2 entries (indices 0 to 1)", r.Err.Trim());
        Assert.False(Directory.Exists(Path.Combine(plan, "runs")));
    }

    [Fact]
    public void Run_AnEntryLockedByARunningProcess_IsRefusedInOneLine_WritingNothing()
    {
        var (dir, plan, ids) = Planned();
        using var _ = dir;
        Directory.CreateDirectory(Path.Combine(plan, "runs"));
        var lockFile = RunDir(plan, ids[0]) + ".lock";
        var held = new JsonObject { ["pid"] = Environment.ProcessId, ["host"] = Environment.MachineName }.ToJsonString();
        File.WriteAllText(lockFile, held);

        var r = Support.Cli.Run("grid", "run", plan, "--index", "0");

        Assert.NotEqual(0, r.Code);
        Assert.Equal($"remix: {lockFile}: held by pid {Environment.ProcessId} on {Environment.MachineName}: another worker runs this entry (delete the lock if it does not)", r.Err.Trim());
        Assert.False(Directory.Exists(RunDir(plan, ids[0])));
        Assert.False(Directory.Exists(Path.Combine(plan, "shared-stages")));
        Assert.Equal(held, File.ReadAllText(lockFile));
    }

    [Fact]
    public void Run_AnEntryLockedByAProcessNoLongerRunning_IsTakenOver_SayingSoInOneLine()
    {
        var (dir, plan, ids) = Planned();
        using var _ = dir;
        Directory.CreateDirectory(Path.Combine(plan, "runs"));
        var lockFile = RunDir(plan, ids[0]) + ".lock";
        // No process has this id (Linux ids stop at 2^22).
        File.WriteAllText(lockFile, new JsonObject { ["pid"] = int.MaxValue, ["host"] = Environment.MachineName }.ToJsonString());

        var r = Support.Cli.Run("grid", "run", plan, "--index", "0");

        Assert.True(r.Code == 0, r.Err);
        Assert.Single(r.Err.Split('\n'), l => l.Contains(".lock"));
        Assert.Contains($"remix: {lockFile} was left by pid {int.MaxValue} on {Environment.MachineName}, no longer running: taking it over", r.Err);
        Assert.True(File.Exists(Path.Combine(RunDir(plan, ids[0]), "results.json")));
        Assert.False(File.Exists(lockFile));
        Assert.False(File.Exists(lockFile + ".takeover"));
    }

    [Fact]
    public void SigUsr1DuringAnEntry_Checkpoints_ReleasesTheLock_EndsWithOneLineAndExit138_AndRunningAgainFinishes()
    {
        if (!OperatingSystem.IsLinux()) return; // signal numbers are Linux's
        using var dir = new TempDir();
        var (plan, id) = MicroGrid.PlanLong(dir);
        string[] run = ["grid", "run", plan, "--index", "0", "--threads", "1"];
        var stageA = Path.Combine(RunDir(plan, id), "stage-1-A");
        using (var p = new CliProcess(run))
        {
            Assert.True(p.WaitUntil(() => MicroGrid.LoggedSteps(stageA) >= 20), "stage A ended before it could be interrupted");
            p.Signal(10);
            var (code, _, err) = p.Wait();
            Assert.Equal(138, code);
            Assert.Matches($@"^remix: interrupted by SIGUSR1 in stage A at step \d+; checkpoint saved; run the same command again to resume entry 0 \({id}\)$", err.TrimEnd().Split('\n')[^1]);
            Assert.DoesNotContain("   at ", err);
        }
        Assert.NotNull(Remix.Training.TrainingCheckpoint.Latest(stageA));
        Assert.False(File.Exists(RunDir(plan, id) + ".lock"));

        var again = CliProcess.Run(run);

        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("resumed from", again.Err);
        Assert.True(File.Exists(Path.Combine(RunDir(plan, id), "results.json")));
    }
}
