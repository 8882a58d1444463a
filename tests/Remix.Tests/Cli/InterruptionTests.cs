using Remix.Data;
using Remix.Tests.Support;
using Remix.Training;

namespace Remix.Tests.Cli;

/// <summary>
/// Ctrl+C, SIGTERM and SIGUSR1 (what a terminal, Slurm and Kubernetes send) sent to a real remix process: a checkpoint,
/// one line, exit 128 + the signal, and a resume that ends where an uninterrupted run ends.
/// </summary>
public class InterruptionTests : IDisposable
{
    readonly TempDir _dir = new();

    public InterruptionTests()
    {
        Assert.Equal(0, Support.Cli.Run("model", "init", "--out", _dir.File("base"), "--hidden-size", "32", "--heads", "2", "--kv-heads", "1").Code);
        var (a, b) = KvrGenerator.GeneratePair(40, 8, seed: 3);
        ExampleJsonl.Write(_dir.File("a.jsonl"), a);
        ExampleJsonl.Write(_dir.File("b.jsonl"), b);
    }

    public void Dispose() => _dir.Dispose();

    // 40 facts in batches of 4 for 30 epochs: 300 steps, a few seconds; one thread, so that every process computes alike.
    string[] Train(string outDir, params string[] more) =>
        ["train", "--model", _dir.File("base"), "--data", _dir.File("a.jsonl"), "--out", outDir, "--epochs", "30", "--batch-size", "4", "--lr", "1e-3", "--threads", "1", .. more];

    static int LoggedSteps(string runDir)
    {
        var path = Path.Combine(runDir, "metrics.jsonl");
        if (!File.Exists(path)) return 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd().Split('\n').Count(l => l.Contains("\"kind\":\"train\""));
    }

    static byte[] Weights(string runDir) => File.ReadAllBytes(Path.Combine(runDir, "final", "model.safetensors"));

    [Theory]
    [InlineData(15, 143, "SIGTERM")]
    [InlineData(10, 138, "SIGUSR1")]
    public void ASignalDuringTrain_Checkpoints_EndsWithOneLine_AndTheResumeEqualsAnUninterruptedRun(int signal, int exitCode, string name)
    {
        if (!OperatingSystem.IsLinux()) return; // signal numbers are Linux's
        var stopped = _dir.File("stopped");
        int step;
        using (var p = new CliProcess(Train(stopped)))
        {
            Assert.True(p.WaitUntil(() => LoggedSteps(stopped) >= 20), "the run ended before it could be interrupted");
            p.Signal(signal);
            var (code, _, err) = p.Wait();
            Assert.Equal(exitCode, code);
            var line = System.Text.RegularExpressions.Regex.Match(err.TrimEnd().Split('\n')[^1], $@"^remix: interrupted by {name} at step (\d+); checkpoint saved in .+; continue with --resume$");
            Assert.True(line.Success, err);
            Assert.DoesNotContain("Exception", err);
            step = int.Parse(line.Groups[1].Value);
        }
        Assert.InRange(step, 20, 299);
        Assert.Equal(TrainingCheckpoint.Directory(stopped, step), TrainingCheckpoint.Latest(stopped));

        var resumed = CliProcess.Run(Train(stopped, "--resume"));
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains($"resumed from {TrainingCheckpoint.Directory(stopped, step)}", resumed.Err);
        var straight = CliProcess.Run(Train(_dir.File("straight")));
        Assert.True(straight.Code == 0, straight.Err);
        Assert.Equal(Weights(_dir.File("straight")), Weights(stopped));
    }

    [Fact]
    public void CtrlCDuringRun_EndsWithOneLineAndExit130_AndRunningAgainFinishes()
    {
        if (!OperatingSystem.IsLinux()) return;
        File.WriteAllText(_dir.File("spec.yaml"), """
            name: two-stage
            base_model: base
            recipe: {lr: 0.001, epochs: 30, batch_size: 4, warmup_ratio: 0}
            stages:
              - {name: A, data: a.jsonl}
              - {name: B, data: b.jsonl}
            """);
        string[] run = ["run", "--config", _dir.File("spec.yaml"), "--out", _dir.File("runs"), "--threads", "1"];
        var stageA = Path.Combine(_dir.File("runs"), "seed-0", "stage-1-A");
        using (var p = new CliProcess(run))
        {
            Assert.True(p.WaitUntil(() => LoggedSteps(stageA) >= 20), "stage A ended before it could be interrupted");
            p.Signal(2);
            var (code, _, err) = p.Wait();
            Assert.True(code == 130, $"exit {code}: {err}");
            Assert.Matches(@"^remix: interrupted by SIGINT in stage A at step \d+; checkpoint saved; run the same command again to resume$", err.TrimEnd().Split('\n')[^1]);
            Assert.DoesNotContain("Exception", err);
            Assert.DoesNotContain("   at ", err);
        }
        Assert.NotNull(TrainingCheckpoint.Latest(stageA));
        var again = CliProcess.Run(run);
        Assert.True(again.Code == 0, again.Err);
        Assert.True(File.Exists(Path.Combine(_dir.File("runs"), "seed-0", "DONE")));
        Assert.False(Directory.Exists(Path.Combine(stageA, "checkpoints"))); // a finished stage keeps only final/
    }
}
