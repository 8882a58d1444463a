using Remix.Experiments;
using Remix.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace Remix.Tests.Experiments;

/// <summary><c>remix grid k8s</c>: the Indexed Job manifest it writes, read back as YAML.</summary>
public class GridK8sTests
{
    static YamlMappingNode Read(string path)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(path);
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    static YamlNode At(YamlNode node, params object[] path) =>
        path.Aggregate(node, (n, key) => key is int i ? ((YamlSequenceNode)n)[i] : ((YamlMappingNode)n)[(string)key]);

    static string Scalar(YamlNode node, params object[] path) => ((YamlScalarNode)At(node, path)).Value!;

    [Fact]
    public void Write_AnIndexedJobOverEveryEntry_FinishedOnesIncluded_RunningThePlanWhereTheClaimIsMounted_WithTheResources()
    {
        using var dir = new TempDir();
        var (plan, ids) = MicroGrid.Plan(dir, 2, 1, 2);
        var done = GridStatus.RunDirectory(plan, ids[1]);
        Directory.CreateDirectory(done);
        File.WriteAllText(Path.Combine(done, ExperimentResults.FileName), "{}");
        File.WriteAllText(Path.Combine(done, RunLayout.DoneMarker), "");

        var job = KubernetesJob.Write(plan, new KubernetesJobOptions("registry.example/remix:1", ["remix"], "grids-pvc", "/project", 2, 1, 4), dir.Path);

        Assert.Equal(Path.Combine(plan, "k8s", "job.yaml"), job.Path);
        var m = Read(job.Path);
        Assert.Equal("batch/v1", Scalar(m, "apiVersion"));
        Assert.Equal("Job", Scalar(m, "kind"));
        Assert.Equal("plan", Scalar(m, "metadata", "name"));
        Assert.Equal("Indexed", Scalar(m, "spec", "completionMode"));
        Assert.Equal("4", Scalar(m, "spec", "completions"));
        Assert.Equal("2", Scalar(m, "spec", "parallelism"));
        Assert.Equal("3", Scalar(m, "spec", "backoffLimitPerIndex"));
        Assert.Equal("DisruptionTarget", Scalar(m, "spec", "podFailurePolicy", "rules", 0, "onPodConditions", 0, "type"));
        var pod = At(m, "spec", "template", "spec");
        Assert.Equal("Never", Scalar(pod, "restartPolicy"));
        var container = At(pod, "containers", 0);
        Assert.Equal("registry.example/remix:1", Scalar(container, "image"));
        Assert.Equal(["remix"], ((YamlSequenceNode)At(container, "command")).Select(n => ((YamlScalarNode)n).Value));
        Assert.Equal(["grid", "run", "/project/grids/plan", "--threads", "4"], ((YamlSequenceNode)At(container, "args")).Select(n => ((YamlScalarNode)n).Value));
        Assert.NotEqual(YamlDotNet.Core.ScalarStyle.Plain, ((YamlScalarNode)At(container, "args", 4)).Style); // a string, as Kubernetes wants args
        Assert.Equal("/project", Scalar(container, "workingDir"));
        Assert.Equal("1", Scalar(container, "resources", "limits", "nvidia.com/gpu"));
        Assert.Equal("4", Scalar(container, "resources", "limits", "cpu"));
        Assert.Equal("4", Scalar(container, "resources", "requests", "cpu"));
        Assert.Equal("/project", Scalar(container, "volumeMounts", 0, "mountPath"));
        Assert.Equal(Scalar(container, "volumeMounts", 0, "name"), Scalar(pod, "volumes", 0, "name"));
        Assert.Equal("grids-pvc", Scalar(pod, "volumes", 0, "persistentVolumeClaim", "claimName"));
    }

    [Fact]
    public void K8s_WithoutAClaim_RunsThePlanFolderByItsOwnPath_EveryPodAtOnce_AndSaysHowToStartIt()
    {
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 1, 1, 2, 3);

        var r = Support.Cli.Run("grid", "k8s", plan, "--image", "remix:latest");

        Assert.True(r.Code == 0, r.Err);
        var path = Path.Combine(plan, "k8s", "job.yaml");
        Assert.Equal($"{path}: Indexed Job plan, 3 completions (one per entry), running remix grid run {plan}", r.Out.Split('\n')[0]);
        Assert.Contains($"kubectl apply -f {path}", r.Out);
        var m = Read(path);
        Assert.Equal("3", Scalar(m, "spec", "parallelism"));
        var pod = (YamlMappingNode)At(m, "spec", "template", "spec");
        Assert.False(pod.Children.ContainsKey("volumes"));
        Assert.False(((YamlMappingNode)At(pod, "containers", 0)).Children.ContainsKey("resources"));
    }

    [Fact]
    public void K8s_APlanFolderOutsideTheClaimedCurrentDirectory_OrAClaimWithoutAMount_IsRefusedInOneLine()
    {
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 1, 1);

        // The tests run in their build folder, which the temporary plan folder is not inside.
        var outside = Support.Cli.Run("grid", "k8s", plan, "--image", "remix", "--claim", "pvc", "--mount", "/project");
        var noMount = Support.Cli.Run("grid", "k8s", plan, "--image", "remix", "--claim", "pvc");

        Assert.NotEqual(0, outside.Code);
        Assert.Equal($"remix: {plan}: --claim holds the current directory ({Directory.GetCurrentDirectory()}), mounted at /project: the plan folder must lie inside it", outside.Err.Trim());
        Assert.NotEqual(0, noMount.Code);
        Assert.Equal("remix: --mount: missing: --claim and --mount go together (the claim, and where it is mounted)", noMount.Err.Trim());
        Assert.False(Directory.Exists(Path.Combine(plan, "k8s")));
    }

    [Fact]
    public void Write_EachPodNamesItsTask_ARetryStartsOnlyOnceThePodBeforeItHasEnded_AndAStoppedPodHasTimeToCheckpoint()
    {
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 1, 1);

        var job = KubernetesJob.Write(plan, new KubernetesJobOptions("remix:1", ["remix"], null, null, null, null, null), dir.Path);

        var m = Read(job.Path);
        // A retry's lock is taken over by its task, JOB_COMPLETION_INDEX appended; which holds only while one pod of an index runs at a time.
        Assert.Equal("Failed", Scalar(m, "spec", "podReplacementPolicy"));
        Assert.Equal("150", Scalar(m, "spec", "template", "spec", "terminationGracePeriodSeconds"));
        var env = At(m, "spec", "template", "spec", "containers", 0, "env", 0);
        Assert.Equal(SchedulerTask.Variable, Scalar(env, "name"));
        Assert.Equal($"k8s:{job.Name}", Scalar(env, "value"));
    }

    [Fact]
    public void K8s_ReplacesItsOwnUneditedManifest_ButAnEditedOne_OnlyWithForce_SayingSoInOneLine()
    {
        using var dir = new TempDir();
        var (plan, _) = MicroGrid.Plan(dir, 1, 1);
        var path = Path.Combine(plan, "k8s", "job.yaml");
        string[] k8s = ["grid", "k8s", plan, "--image", "remix:1"];
        Assert.Equal(0, Support.Cli.Run(k8s).Code);

        var again = Support.Cli.Run([.. k8s, "--parallelism", "1"]);
        var edited = File.ReadAllText(path).Replace("  name: plan\n", "  name: plan\n  namespace: lab\n");
        File.WriteAllText(path, edited);
        var refused = Support.Cli.Run([.. k8s, "--parallelism", "2"]);
        var keptEdited = File.ReadAllText(path);
        var forced = Support.Cli.Run([.. k8s, "--force"]);

        Assert.True(again.Code == 0, again.Err);
        Assert.Equal("1", Scalar(Read(path), "spec", "parallelism"));
        Assert.Contains("namespace: lab", edited);
        Assert.NotEqual(0, refused.Code);
        Assert.Equal($"remix: {path}: edited since remix wrote it; --force replaces it", refused.Err.Trim());
        Assert.Equal(edited, keptEdited);
        Assert.True(forced.Code == 0, forced.Err);
        Assert.DoesNotContain("namespace", File.ReadAllText(path));
    }
}
