using System.Text.Json.Nodes;
using Remix.Experiments;
using Remix.IO;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

/// <summary>
/// An entry's lock across hosts: the scheduler task a worker runs as, recorded in its lock, lets a later try of the same
/// task (requeued onto another node, retried in a new pod) take over a lock no process here can check.
/// </summary>
public class GridLockTests
{
    static readonly string Elsewhere = "node-" + Guid.NewGuid().ToString("N")[..8];

    static string LockFrom(string path, int pid, string host, string? task)
    {
        var node = new JsonObject { ["pid"] = pid, ["host"] = host };
        if (task is not null) node["task"] = task;
        File.WriteAllText(path, node.ToJsonString());
        return path;
    }

    [Theory]
    [InlineData("SLURM_ARRAY_JOB_ID=77 SLURM_ARRAY_TASK_ID=3 SLURM_JOB_ID=80", "slurm:77_3")]
    [InlineData("SLURM_JOB_ID=80", "slurm:80")]
    [InlineData("SLURM_ARRAY_JOB_ID=77 SLURM_JOB_ID=80", "slurm:80")]
    [InlineData("REMIX_WORKER_TASK=k8s:plan JOB_COMPLETION_INDEX=2", "k8s:plan/2")]
    [InlineData("REMIX_WORKER_TASK=k8s:plan", "k8s:plan")]
    [InlineData("JOB_COMPLETION_INDEX=2", null)]
    [InlineData("", null)]
    public void SchedulerTask_IsSlurmsArrayTask_ElseItsJob_ElseTheNamedTaskAndItsIndex_ElseNone(string environment, string? expected)
    {
        var variables = environment.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => v.Split('=')).ToDictionary(v => v[0], v => v[1]);

        Assert.Equal(expected, SchedulerTask.From(variables.GetValueOrDefault)?.Id);
    }

    [Fact]
    public void SchedulerTask_Describe_SaysWhichScheduler()
    {
        Assert.Equal("Slurm task 77_3", SchedulerTask.Describe("slurm:77_3"));
        Assert.Equal("Kubernetes task plan/2", SchedulerTask.Describe("k8s:plan/2"));
    }

    [Fact]
    public void Acquire_ALockFromAnotherHost_IsTakenOverOnlyByTheSameTask_AndRecordsTheTaskAsAnExtraField()
    {
        using var dir = new TempDir();
        var path = LockFrom(dir.File("e.lock"), 4242, Elsewhere, "slurm:77_3");

        var otherTask = Assert.Throws<InvalidInputException>(() => ProcessLock.Acquire(path, "slurm:77_4"));
        var noTask = Assert.Throws<InvalidInputException>(() => ProcessLock.Acquire(path));
        string before = File.ReadAllText(path);
        using (var held = ProcessLock.Acquire(path, "slurm:77_3"))
        {
            Assert.Equal($"pid 4242 on {Elsewhere}", held.TookOverFrom);
            Assert.Equal("slurm:77_3", held.TookOverTask);
            var node = JsonNode.Parse(File.ReadAllText(path))!;
            // pid and host as before, so that a reader knowing only them reads it.
            Assert.Equal(Environment.ProcessId, (int)node["pid"]!);
            Assert.Equal(Environment.MachineName, (string)node["host"]!);
            Assert.Equal("slurm:77_3", (string)node["task"]!);
        }

        Assert.Equal($"{path}: held by pid 4242 on {Elsewhere} (another host: not checked): another worker runs this entry (delete the lock if it does not)", otherTask.Message);
        Assert.Equal(otherTask.Message, noTask.Message);
        Assert.Contains("\"task\":\"slurm:77_3\"", before);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".takeover"));
    }

    [Fact]
    public void Acquire_WithoutATask_WritesTheLockAsBefore_PidAndHostOnly()
    {
        using var dir = new TempDir();
        var path = dir.File("e.lock");

        using var held = ProcessLock.Acquire(path);

        Assert.Null(held.TookOverFrom);
        Assert.Equal(new JsonObject { ["pid"] = Environment.ProcessId, ["host"] = Environment.MachineName }.ToJsonString(), File.ReadAllText(path).Trim());
    }

    [Fact]
    public void Status_AnEntryLockedFromAnotherHost_IsRunning_SayingItCannotBeCheckedFromHere()
    {
        using var dir = new TempDir();
        var (plan, ids) = MicroGrid.Plan(dir, 1, 1, 2);
        Directory.CreateDirectory(Path.Combine(plan, "runs"));
        LockFrom(GridStatus.RunDirectory(plan, ids[0]) + ".lock", 4242, Elsewhere, "slurm:77_0");
        LockFrom(GridStatus.RunDirectory(plan, ids[1]) + ".lock", Environment.ProcessId, Environment.MachineName, null);

        var entries = GridStatus.Read(plan);

        Assert.Equal((EntryState.Running, $"pid 4242 on {Elsewhere} (another host: not checked)"), (entries[0].State, entries[0].Detail));
        Assert.Equal((EntryState.Running, $"pid {Environment.ProcessId} on {Environment.MachineName}"), (entries[1].State, entries[1].Detail));
    }

    [Fact]
    public void Run_AsTheSlurmTaskWhoseEarlierTryOnAnotherNodeLeftTheLock_TakesItOver_SayingSoInOneLine_AndFinishes()
    {
        using var dir = new TempDir();
        var (plan, ids) = MicroGrid.Plan(dir, 1, 1);
        Directory.CreateDirectory(Path.Combine(plan, "runs"));
        var lockFile = LockFrom(GridStatus.RunDirectory(plan, ids[0]) + ".lock", 4242, Elsewhere, "slurm:77_0");
        var task = new Dictionary<string, string?>
        {
            ["SLURM_ARRAY_JOB_ID"] = "77", ["SLURM_ARRAY_TASK_ID"] = "0", ["SLURM_JOB_ID"] = "78",
            ["JOB_COMPLETION_INDEX"] = null, [SchedulerTask.Variable] = null,
        };

        var r = CliProcess.Run(task, "grid", "run", plan);

        Assert.True(r.Code == 0, r.Err);
        Assert.Single(r.Err.Split('\n'), l => l.Contains(".lock"));
        Assert.Contains($"remix: {lockFile} was left by an earlier try of Slurm task 77_0 (pid 4242 on {Elsewhere}): taking it over", r.Err);
        Assert.Equal(EntryState.Done, GridStatus.Read(plan)[0].State);
        Assert.False(File.Exists(lockFile));
    }
}
