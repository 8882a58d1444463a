using System.Text.Json.Nodes;
using Remix.Experiments;
using Remix.Tests.Support;
using static Remix.Tests.Experiments.ExperimentRunnerTests;

namespace Remix.Tests.Experiments;

public class GridLocalTests
{
    /// <summary>
    /// A 4-entry grid on the micro model (two learning rates x two seeds, so that no two entries share a stage), stage A
    /// long enough when asked (40 facts, batches of 4, checkpoints every 20 steps) for a worker to be killed in it.
    /// </summary>
    static (TempDir Dir, string Grid, string Plan, string[] Ids) Planned(int epochsA = 1)
    {
        var dir = new TempDir();
        Assert.Equal(0, Support.Cli.Run("model", "init", "--out", dir.File("base"), "--hidden-size", "32", "--heads", "2", "--kv-heads", "1").Code);
        var (a, b) = Remix.Data.KvrGenerator.GeneratePair(40, 8, seed: 3);
        Remix.Data.ExampleJsonl.Write(dir.File("a.jsonl"), a);
        Remix.Data.ExampleJsonl.Write(dir.File("b.jsonl"), b);
        var grid = Write(dir.File("grid.yaml"), $$"""
            name: g
            base_model: base
            recipe: {lr: 0.001, epochs: {{epochsA}}, batch_size: 4, warmup_ratio: 0, save_every: 20}
            stages:
              - {name: A, data: a.jsonl}
              - {name: B, data: b.jsonl, recipe: {epochs: 1} }
            axes:
              recipe.lr: [0.001, 0.002]
              seeds: [0, 1]
            """);
        var plan = dir.File("plan");
        var r = Support.Cli.Run("grid", "plan", grid, "--out", plan);
        Assert.True(r.Code == 0, r.Err);
        var ids = File.ReadAllLines(Path.Combine(plan, "runs.jsonl")).Select(l => JsonNode.Parse(l)!["id"]!.GetValue<string>()).ToArray();
        Assert.Equal(4, ids.Length);
        return (dir, grid, plan, ids);
    }

    static string RunDir(string plan, string id) => Path.Combine(plan, "runs", id);

    [Fact]
    public void Local_WithTwoWorkers_FinishesEveryEntry_WithALogEach_StatusSaysDone_AndAgainRunsNothing()
    {
        var (dir, _, plan, ids) = Planned();
        using var _ = dir;

        var r = CliProcess.Run("grid", "local", plan, "-j", "2");

        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("4 entries: 0 done, 4 pending, 0 running elsewhere, 0 failed", r.Out);
        Assert.Contains("running 4 with 2 workers of 1 thread", r.Out);
        Assert.Contains($"4 of 4 entries done in {plan} (4 by this run", r.Out);
        for (int i = 0; i < 4; i++)
        {
            Assert.True(File.Exists(Path.Combine(RunDir(plan, ids[i]), "results.json")));
            Assert.Contains($"grid: entry {i} ({ids[i]}): done in ", r.Err);
            Assert.Contains($"entry {i} ({ids[i]}): results: ", File.ReadAllText(Path.Combine(plan, "logs", $"entry-{i}.log")));
        }
        Assert.All(GridStatus.Read(plan), e => Assert.Equal(EntryState.Done, e.State));
        // Finished, the grid is reported into its plan folder: a page with its two configurations of two seeds each.
        Assert.Contains($"page: {Path.Combine(plan, Remix.Reporting.HtmlReport.FileName)}", r.Out);
        Assert.True(File.Exists(Path.Combine(plan, "report.md")));
        var page = File.ReadAllText(Path.Combine(plan, Remix.Reporting.HtmlReport.FileName));
        const string dataOpen = "<script type=\"application/json\" id=\"remix-data\">";
        int from = page.IndexOf(dataOpen, StringComparison.Ordinal) + dataOpen.Length;
        var conditions = JsonNode.Parse(page[from..page.IndexOf("</script>", from, StringComparison.Ordinal)])!["conditions"]!.AsArray();
        Assert.Equal(["lr=0.001", "lr=0.002"], conditions.Select(c => c!["label"]!.GetValue<string>()));
        Assert.All(conditions, c => Assert.Equal([0, 1], c!["runs"]!.AsArray().Select(run => run!["seed"]!.GetValue<int>())));
        var status = Support.Cli.Run("grid", "status", plan, "--json");
        Assert.True(status.Code == 0, status.Err);
        var json = JsonNode.Parse(status.Out)!;
        Assert.Equal(4, json["done"]!.GetValue<int>());
        Assert.Equal(0, json["pending"]!.GetValue<int>());
        Assert.Equal(ids, json["list"]!.AsArray().Select(e => e!["id"]!.GetValue<string>()));
        Assert.Equal(1, json["list"]![1]!["seed"]!.GetValue<int>());
        Assert.Equal("0.002", json["list"]![2]!["axes"]!["recipe.lr"]!.GetValue<string>());

        var again = CliProcess.Run("grid", "local", plan, "-j", "2");

        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("4 entries: 4 done, 0 pending", again.Out);
        Assert.Contains("4 of 4 entries done", again.Out);
        Assert.DoesNotContain("started", again.Err);
    }

    [Fact]
    public void Local_AWorkerKilledMidEntry_IsListed_ThenLocalAgainFinishesEveryEntry_AndTheKilledEntryEqualsAnUninterruptedRun()
    {
        if (!OperatingSystem.IsLinux()) return; // signal numbers are Linux's
        var (dir, grid, plan, ids) = Planned(epochsA: 12);
        using var _ = dir;
        string killed;
        // One thread a worker, as the uninterrupted run below: results are bit-identical only at the same thread count.
        using (var pool = new CliProcess("grid", "local", plan, "-j", "2", "--threads", "1"))
        {
            // The first worker to be 60 steps into stage A, past its third checkpoint.
            string? victim = null;
            Assert.True(pool.WaitUntil(() => (victim = ids.FirstOrDefault(id => MicroGrid.LoggedSteps(Path.Combine(RunDir(plan, id), "stage-1-A")) >= 60)) is not null),
                "no entry got 60 steps into stage A");
            killed = victim!;
            int pid = JsonNode.Parse(File.ReadAllText(RunDir(plan, killed) + ".lock"))!["pid"]!.GetValue<int>();
            System.Diagnostics.Process.GetProcessById(pid).Kill(); // SIGKILL: no handler runs, the lock and checkpoints stay
            var (code, _, err) = pool.Wait();

            Assert.Equal(1, code);
            Assert.Contains($"  {killed} (entry {Array.IndexOf(ids, killed)}): its worker was killed by signal 9; it resumes from its last checkpoint when run again", err);
        }
        Assert.Equal(EntryState.Pending, GridStatus.Read(plan).Single(e => e.Id == killed).State);

        var again = CliProcess.Run("grid", "local", plan, "-j", "2", "--threads", "1");

        Assert.True(again.Code == 0, again.Err);
        Assert.All(GridStatus.Read(plan), e => Assert.Equal(EntryState.Done, e.State));
        var log = File.ReadAllText(Path.Combine(plan, "logs", $"entry-{Array.IndexOf(ids, killed)}.log"));
        Assert.Contains("no longer running: taking it over", log);
        Assert.Contains("resumed from", log);

        // The same entry, never interrupted, in a plan of its own.
        var reference = dir.File("reference");
        Assert.Equal(0, Support.Cli.Run("grid", "plan", grid, "--out", reference).Code);
        var one = Support.Cli.Run("grid", "run", reference, "--index", Array.IndexOf(ids, killed).ToString(), "--threads", "1");
        Assert.True(one.Code == 0, one.Err);
        var resumed = ExperimentResults.Read(Path.Combine(RunDir(plan, killed), "results.json"));
        var uninterrupted = ExperimentResults.Read(Path.Combine(RunDir(reference, killed), "results.json"));
        Assert.Equal(uninterrupted.AccuracyMatrix, resumed.AccuracyMatrix);
        Assert.Equal(uninterrupted.GoldLogprobMatrix, resumed.GoldLogprobMatrix);
        Assert.Equal(uninterrupted.PredictionsAfterStage, resumed.PredictionsAfterStage);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(RunDir(reference, killed), "stage-1-A", "final", "model.safetensors")),
            File.ReadAllBytes(Path.Combine(RunDir(plan, killed), "stage-1-A", "final", "model.safetensors")));
    }

    [Fact]
    public void SigIntToThePool_StopsEachWorkerWithACheckpoint_Exits130_AndTheNextRunResumesThem()
    {
        if (!OperatingSystem.IsLinux()) return; // signal numbers are Linux's
        var (dir, _, plan, ids) = Planned(epochsA: 30);
        using var _ = dir;
        using (var pool = new CliProcess("grid", "local", plan, "-j", "2"))
        {
            Assert.True(pool.WaitUntil(() => ids.Take(2).All(id => MicroGrid.LoggedSteps(Path.Combine(RunDir(plan, id), "stage-1-A")) >= 20)), "the first two entries did not get 20 steps in");
            pool.Signal(2); // the pool alone: it stops its workers itself
            var (code, _, err) = pool.Wait();

            Assert.True(code == 130, $"exit {code}: {err}");
            for (int i = 0; i < 2; i++)
                Assert.Matches($@"grid: entry {i} \({ids[i]}\): stopped: interrupted by SIGTERM in stage A at step \d+; checkpoint saved; it resumes when run again", err);
            Assert.Contains("grid: stopping: each of 2 running workers saves a checkpoint; 2 not started", err);
            Assert.EndsWith("remix: interrupted by SIGINT (grid local); each worker's line above says where its entry stopped: run the same command again to resume", err.TrimEnd());
        }
        Assert.All(GridStatus.Read(plan), e => Assert.Equal(EntryState.Pending, e.State));

        var again = CliProcess.Run("grid", "local", plan, "-j", "2");

        Assert.True(again.Code == 0, again.Err);
        for (int i = 0; i < 2; i++) Assert.Contains("resumed from", File.ReadAllText(Path.Combine(plan, "logs", $"entry-{i}.log")));
        Assert.All(GridStatus.Read(plan), e => Assert.Equal(EntryState.Done, e.State));
    }

    [Fact]
    public void AWorker_IgnoresSigInt_AndTakesASecondSigTermAsTheFirst_StoppingWithItsCheckpoint()
    {
        if (!OperatingSystem.IsLinux()) return; // signal numbers are Linux's
        using var dir = new TempDir();
        var (plan, id) = MicroGrid.PlanLong(dir);
        var stage = Path.Combine(RunDir(plan, id), "stage-1-A");
        using var worker = new CliProcess("grid", "run", plan, "--index", "0", "--threads", "1", "--worker");
        Assert.True(worker.WaitUntil(() => MicroGrid.LoggedSteps(stage) >= 20), "the entry ended before it could be interrupted");

        worker.Signal(2); // a terminal's Ctrl+C, which the pool answers for it
        int before = MicroGrid.LoggedSteps(stage);
        Assert.True(worker.WaitUntil(() => MicroGrid.LoggedSteps(stage) >= before + 10), "a worker stopped training on SIGINT");
        worker.Signal(15); // a SIGTERM to the whole process group...
        worker.Signal(15); // ...and the pool's own
        var (code, _, err) = worker.Wait();

        Assert.Equal(143, code);
        Assert.Matches(@"remix: interrupted by SIGTERM in stage A at step \d+; checkpoint saved", err);
        Assert.NotNull(Remix.Training.TrainingCheckpoint.Latest(stage));
    }

    [Fact]
    public void AFinishedEntryWhoseFilesAreGone_IsAlreadyFinished_NotFailed()
    {
        var (dir, _, plan, ids) = Planned();
        using var _ = dir;
        Assert.Equal(0, Support.Cli.Run("grid", "run", plan, "--index", "0").Code);
        File.Delete(dir.File("b.jsonl")); // as on a node that mounts the data elsewhere

        var r = Support.Cli.Run("grid", "run", plan, "--index", "0");

        Assert.True(r.Code == 0, r.Err);
        Assert.StartsWith($"entry 0 ({ids[0]}): already finished: ", r.Out);
        Assert.Contains("its spec does not read here", r.Out);
        Assert.False(File.Exists(RunDir(plan, ids[0]) + ".failed"));
        Assert.Equal(EntryState.Done, GridStatus.Read(plan)[0].State);
    }

    [Fact]
    public void Local_WithAnEntryRunningElsewhere_LeavesItToItsWorker_AndExitsNonZeroListingIt()
    {
        var (dir, _, plan, ids) = Planned();
        using var _ = dir;
        Directory.CreateDirectory(Path.Combine(plan, "runs"));
        // Held by a live process: this test's.
        File.WriteAllText(RunDir(plan, ids[1]) + ".lock", new JsonObject { ["pid"] = Environment.ProcessId, ["host"] = Environment.MachineName }.ToJsonString());

        var r = CliProcess.Run("grid", "local", plan, "-j", "2");

        Assert.Equal(1, r.Code);
        Assert.Contains("4 entries: 0 done, 3 pending, 1 running elsewhere, 0 failed", r.Out);
        Assert.Contains($"  {ids[1]} (entry 1): running elsewhere (pid {Environment.ProcessId} on {Environment.MachineName})", r.Err);
        Assert.Contains("[3 done, 1 running, 0 failed, 0 pending]", r.Err);
        Assert.Equal(3, GridStatus.Read(plan).Count(e => e.State == EntryState.Done));
    }

    [Fact]
    public void Plan_AConfigurationWhoseDataDoesNotLoad_IsRefusedAsRemixRunWouldRefuseIt_PlanningNothing()
    {
        using var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        File.WriteAllText(dir.File("odd.jsonl"), "{\"key\": 1}\n");
        var grid = Write(dir.File("grid.yaml"), """
            name: g
            base_model: base
            seeds: [0, 1]
            stages:
              - {name: A, data: a.jsonl}
              - {name: B, data: b.jsonl}
            axes:
              stages[1].data: [b.jsonl, odd.jsonl]
            """);

        var r = Support.Cli.Run("grid", "plan", grid, "--out", dir.File("plan"));

        Assert.Equal(1, r.Code);
        var lines = r.Err.TrimEnd().Split('\n');
        Assert.Equal(2, lines.Length); // the problem once, though two seeds meet it
        Assert.StartsWith($"remix: {dir.File("odd.jsonl")}: could not tell the dataset format", lines[0]);
        Assert.Equal($"remix: {grid}: 1 problem in the grid's entries: nothing planned", lines[1]);
        Assert.False(Directory.Exists(dir.File("plan")));
    }

    [Fact]
    public void AFailedEntry_IsListedWithItsError_LeftAloneByLocal_AndRetryPutsItBack()
    {
        var (dir, _, plan, ids) = Planned();
        using var _ = dir;
        // Entry 2's run fails: its stage B's data disappears once it is planned.
        var spec = File.ReadAllLines(Path.Combine(plan, "runs.jsonl"));
        var entry = JsonNode.Parse(spec[2])!;
        entry["spec"]!["stages"]![1]!["data"] = "missing.jsonl";
        spec[2] = entry.ToJsonString();
        File.WriteAllLines(Path.Combine(plan, "runs.jsonl"), spec);

        var r = CliProcess.Run("grid", "local", plan, "-j", "2");

        Assert.Equal(1, r.Code);
        Assert.Contains($"remix: 1 entry did not finish:\n  {ids[2]} (entry 2): failed: ", r.Err);
        Assert.Contains("missing.jsonl", r.Err.Split('\n').Single(l => l.StartsWith($"  {ids[2]}")));
        var status = Support.Cli.Run("grid", "status", plan);
        Assert.Contains("4 entries: 3 done, 0 running, 1 failed, 0 pending", status.Out);
        Assert.Matches($@"\n\s+2  {ids[2]}\s+failed\s+.*missing\.jsonl", "\n" + status.Out);

        var left = CliProcess.Run("grid", "local", plan);
        Assert.Equal(1, left.Code);
        Assert.Contains("3 done, 0 pending, 0 running elsewhere, 1 failed (left alone: remix grid retry", left.Out);
        Assert.DoesNotContain("started", left.Err);

        var notFailed = Support.Cli.Run("grid", "retry", plan, ids[0]);
        Assert.NotEqual(0, notFailed.Code);
        Assert.Equal($"remix: {ids[0]}: not failed: it is done", notFailed.Err.Trim());
        var retry = Support.Cli.Run("grid", "retry", plan);
        Assert.True(retry.Code == 0, retry.Err);
        Assert.StartsWith($"entry 2 ({ids[2]}): pending again (it failed: ", retry.Out);
        Assert.Equal(EntryState.Pending, GridStatus.Read(plan)[2].State);
        Assert.Contains("no failed entries", Support.Cli.Run("grid", "retry", plan).Out);
    }
}
