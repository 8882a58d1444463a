using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Runtime.Intrinsics;
using System.Text.Json.Nodes;
using Remix.Checkpoints;
using Remix.Data;
using Remix.Experiments;
using Remix.Models;
using Remix.Runtime;
using Remix.Tests.Support;
using Remix.Training;
using static TorchSharp.torch;

namespace Remix.Tests.Runtime;

public class RunProvenanceTests
{
    static DateTime Time(JsonNode? node) => DateTime.Parse((string)node!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    static string[] Strings(JsonNode? array) => [.. array!.AsArray().Select(n => (string)n!)];

    static string[] Outcomes(string runDir) => [.. RunProvenance.ReadSessions(runDir).Select(s => (string)s["outcome"]!)];

    /// <summary>A tiny model (head_dim 16, so the CPU attention kernel runs where it can) and four facts.</summary>
    static (string Model, string Facts) TinyModelAndFacts(TempDir dir)
    {
        var init = Support.Cli.Run("model", "init", "--out", dir.File("base"), "--hidden-size", "32", "--heads", "2", "--kv-heads", "1");
        Assert.True(init.Code == 0, init.Err);
        ExampleJsonl.Write(dir.File("facts.jsonl"), KvrGenerator.Generate(4, seed: 1));
        return (dir.File("base"), dir.File("facts.jsonl"));
    }

    [Fact]
    public void TrainRun_RecordsTheBuildTheMachineAndTheExactCommandLine()
    {
        using var dir = new TempDir();
        var (model, facts) = TinyModelAndFacts(dir);
        string[] args = ["train", "--model", model, "--data", facts, "--out", dir.File("run"), "--epochs", "1", "--batch-size", "4", "--lr=1e-3"];
        var before = DateTime.UtcNow;
        var train = Support.Cli.Run(args);
        var after = DateTime.UtcNow;
        Assert.True(train.Code == 0, train.Err);

        var s = Assert.Single(RunProvenance.ReadSessions(dir.File("run")));
        Assert.Equal(["remix", .. args], Strings(s["command_line"]));
        Assert.Equal("finished", (string)s["outcome"]!);
        Assert.Equal("cpu", (string)s["device"]!);
        Assert.Equal("float32", (string)s["dtype"]!);
        Assert.Equal(get_num_threads(), (int)s["threads"]!);
        Assert.InRange(Time(s["start"]), before, after);
        Assert.InRange(Time(s["end"]), Time(s["start"]), after);
        Assert.InRange((double)s["wall_seconds"]!, 0, (after - before).TotalSeconds);
        Assert.Equal(Environment.CurrentDirectory, (string)s["working_directory"]!);

        Assert.StartsWith(typeof(RunProvenance).Assembly.GetName().Version!.ToString(3), (string)s["remix_version"]!);
        Assert.Matches("^([0-9a-f]{40}|unknown)$", (string)s["git_commit"]!);
        Assert.Contains((string)s["git_tree"]!, new[] { "clean", "dirty", "unknown" });
        Assert.Equal((string)s["git_commit"]! == "unknown", (string)s["git_tree"]! == "unknown");
        Assert.Equal(typeof(TorchSharp.torch).Assembly.GetName().Version!.ToString(3), (string)s["torchsharp_version"]!);
        Assert.Matches(@"^\d+\.\d+\.\d+", (string)s["libtorch_version"]!);
        Assert.Equal(RuntimeInformation.OSDescription, (string)s["os"]!);
        Assert.Equal(Environment.MachineName, (string)s["host"]!);
        Assert.Equal(Environment.ProcessorCount, (int)s["logical_processors"]!);
        var cpuinfoModel = OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        if (cpuinfoModel is not null) Assert.Equal(cpuinfoModel, (string)s["cpu_model"]!);
        else Assert.False(string.IsNullOrWhiteSpace((string)s["cpu_model"]!));

        var simd = s["simd"]!;
        Assert.Equal(Remix.Models.Kernels.CpuKernels.VectorBits, (int)simd["kernel_vector_bits"]!);
        Assert.Equal(Vector512.IsHardwareAccelerated, (bool)simd["vector512"]!);
        Assert.Equal(Vector256.IsHardwareAccelerated, (bool)simd["vector256"]!);
        Assert.Equal(Avx2.IsSupported, (bool)simd["avx2"]!);
        Assert.Equal(Avx512F.IsSupported, (bool)simd["avx512f"]!);
        Assert.Equal(Fma.IsSupported, (bool)simd["fma"]!);
        foreach (var name in RunProvenance.RecordedVariables)
            Assert.Equal(Environment.GetEnvironmentVariable(name), (string?)s["environment"]![name]);
    }

    [Fact]
    public void EachInvocationOnARunFolder_AppendsASession_ThatSaysHowItEnded()
    {
        using var dir = new TempDir();
        var (model, facts) = TinyModelAndFacts(dir);
        var examples = DatasetReader.Read(facts).Examples;
        var run = dir.File("run");
        TrainingResult Train(string[] commandLine, bool resume, Action<int>? afterStep = null, CancellationToken cancel = default)
        {
            using var loaded = LoadedModel.Load(model);
            var options = new TrainingOptions { LearningRate = 1e-3, BatchSize = 1, Epochs = 1, Seed = 3 };
            var trainer = new Trainer(loaded.Model, loaded.Tokenizer, loaded.StopTokenIds, options) { AfterStep = afterStep };
            return trainer.Train(new TrainingRun { Examples = examples, OutDir = run, Resume = resume, TokenizerSource = model, CommandLine = commandLine }, cancel);
        }

        using var cancel = new CancellationTokenSource();
        Assert.True(Train(["first"], resume: false, afterStep: _ => cancel.Cancel(), cancel.Token).Interrupted);
        var first = Assert.Single(RunProvenance.ReadSessions(run)).ToJsonString();
        Assert.Throws<InvalidOperationException>(() => Train(["second"], resume: true, afterStep: s => throw new InvalidOperationException($"killed at {s}")));
        Assert.Equal(4, Train(["third"], resume: true).Steps);

        var sessions = RunProvenance.ReadSessions(run);
        Assert.Equal(["interrupted", "failed", "finished"], Outcomes(run));
        Assert.Equal(["first", "second", "third"], sessions.Select(s => Assert.Single(Strings(s["command_line"]))));
        Assert.Equal(first, sessions[0].ToJsonString()); // an earlier session is kept as it was
        for (int i = 1; i < sessions.Count; i++) Assert.True(Time(sessions[i]["start"]) >= Time(sessions[i - 1]["end"]));
    }

    [Fact]
    public void ExperimentRun_RecordsASessionInItsFolderAndEveryStage_AndNoneWhenFinishedAlready()
    {
        using var dir = new TempDir();
        TinyModelAndFacts(dir);
        var (a, b) = KvrGenerator.GeneratePair(4, 4, 2);
        ExampleJsonl.Write(dir.File("a.jsonl"), a);
        ExampleJsonl.Write(dir.File("b.jsonl"), b);
        File.WriteAllText(dir.File("spec.yaml"), "name: two\nbase_model: base\nrecipe: {lr: 0.01, epochs: 1, batch_size: 4}\nstages:\n  - {name: A, data: a.jsonl}\n  - {name: B, data: b.jsonl}\n");
        var spec = ExperimentSpec.Load(dir.File("spec.yaml"));
        string[] commandLine = ["remix", "run", "--config", "spec.yaml"];
        var runner = new ExperimentRunner(spec) { CommandLine = commandLine };
        var runDir = dir.File("run");
        runner.Run(runDir, 0);

        var s = Assert.Single(RunProvenance.ReadSessions(runDir));
        Assert.Equal(commandLine, Strings(s["command_line"]));
        Assert.Equal("finished", (string)s["outcome"]!);
        Assert.Equal(("cpu", "auto"), ((string)s["device"]!, (string)s["dtype"]!)); // as the spec asks; each stage records what it resolved to
        foreach (var stage in new[] { "stage-1-A", "stage-2-B" })
        {
            var t = Assert.Single(RunProvenance.ReadSessions(Path.Combine(runDir, stage)));
            Assert.Equal(commandLine, Strings(t["command_line"]));
            Assert.Equal(("finished", "float32"), ((string)t["outcome"]!, (string)t["dtype"]!));
            Assert.InRange(Time(t["start"]), Time(s["start"]), Time(s["end"]));
        }

        runner.Run(runDir, 0); // DONE: nothing is done, so nothing is recorded
        Assert.Single(RunProvenance.ReadSessions(runDir));
    }

    [Theory]
    [InlineData("{\"sessions\": [", "malformed")]
    [InlineData("[1, 2]", "found array")]
    [InlineData("{\"sessions\": 3}", "found \"sessions\" as number")]
    [InlineData("{\"sessions\": [{}, 1]}", "found a session that is not an object")]
    public void AProvenanceFileThatIsNotOne_IsRefusedInOneLineNamingIt(string content, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(RunProvenance.FileName), content);
        var e = Assert.Throws<InvalidInputException>(() => RunProvenance.Begin(dir.Path, "cpu", "float32", ["x"]));
        Assert.StartsWith(dir.File(RunProvenance.FileName) + ":", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(content, File.ReadAllText(dir.File(RunProvenance.FileName))); // left as it was
    }

    [Fact]
    public void InfoCommand_PrintsWhatASessionRecordsOfThisMachine()
    {
        var info = Support.Cli.Run("info");
        Assert.True(info.Code == 0, info.Err);
        var printed = JsonNode.Parse(info.Out)!.AsObject();
        var described = RunProvenance.Describe();
        Assert.Equal(described.Select(kv => kv.Key), printed.Select(kv => kv.Key));
        Assert.Equal(described["simd"]!.ToJsonString(), printed["simd"]!.ToJsonString());
        Assert.Equal((string)described["git_commit"]!, (string)printed["git_commit"]!);
    }
}
