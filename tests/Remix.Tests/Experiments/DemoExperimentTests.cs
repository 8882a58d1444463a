using Remix.Experiments;

namespace Remix.Tests.Experiments;

public class DemoExperimentTests
{
    [Fact]
    public void Conditions_CoverTheBaselinesAndTheThreeRemixVariants_OnBundledData()
    {
        var conditions = DemoExperiment.Conditions(quick: true);
        Assert.Equal(["naive", "replay-10%", "remix-random-stage1", "remix-generic-stage2", "remix-both", "l2", "joint", "naive-nonfactoid-B"], conditions.Select(c => c.Name));
        Assert.All(conditions, c =>
        {
            Assert.Equal(2, c.Stages.Count);
            Assert.True(Directory.Exists(c.BaseModel));
            Assert.All(c.Stages.SelectMany(s => s.Data), d => Assert.True(File.Exists(d.File), d.File));
        });
        var both = conditions.Single(c => c.Name == "remix-both");
        Assert.Equal("random", both.Stages[0].Mix.Single().Source);
        Assert.Equal("generic", both.Stages[1].Mix.Single().Source);
        Assert.Equal(0.1, conditions.Single(c => c.Name == "replay-10%").Stages[1].Replay!.Fraction);
        Assert.EndsWith("arithmetic-gsm8k.jsonl", conditions[^1].Stages[1].Data[0].File);
        Assert.Equal(["joint"], conditions.Where(c => c.Joint).Select(c => c.Name));
        Assert.Equal([0, 1, 2], DemoExperiment.Conditions(quick: true, seeds: 3)[0].Seeds);
    }

    [Fact]
    public void TheFullAndQuickDemos_DifferOnlyInSize()
    {
        var full = DemoExperiment.Conditions(quick: false);
        var quick = DemoExperiment.Conditions(quick: true);
        Assert.Equal(full.Select(c => c.Name), quick.Select(c => c.Name));
        Assert.Equal((40, 16), (full[0].Stages[0].Limit, quick[0].Stages[0].Limit));
        Assert.Equal([0, 1], full[0].Seeds);
        Assert.Equal([0], quick[0].Seeds);
        for (int i = 0; i < full.Count; i++)
        {
            Assert.Equal(full[i].Joint, quick[i].Joint);
            Assert.Equal(full[i].Stages.Select(s => (s.Name, string.Join(",", s.Mix.Select(m => m.Source)), s.Replay, s.Regularizer, s.Recipe.Stop.ToString(), s.Recipe.EvalEvery)),
                quick[i].Stages.Select(s => (s.Name, string.Join(",", s.Mix.Select(m => m.Source)), s.Replay, s.Regularizer, s.Recipe.Stop.ToString(), s.Recipe.EvalEvery)));
        }
    }

    public static TheoryData<string> ExampleSpecs()
    {
        var examples = Path.GetDirectoryName(Remix.Data.Bundled.BundledPaths.Find("examples/paper-llama3-8b.yaml"))!;
        // A grid (NAME-grid.yaml) is no spec of one experiment: GridSpecTests plans it.
        return [.. Directory.GetFiles(examples, "*.yaml", SearchOption.AllDirectories).Where(f => !f.EndsWith("-grid.yaml", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(examples, f)).Order()];
    }

    [Theory]
    [MemberData(nameof(ExampleSpecs))]
    public void EveryExampleSpec_Validates(string relative)
    {
        var path = Remix.Data.Bundled.BundledPaths.Find(Path.Combine("examples", relative));
        var r = Support.Cli.Run("run", "--config", path, "--validate");
        Assert.True(r.Code == 0, r.Err);
        Assert.EndsWith("valid" + Environment.NewLine, r.Out);
    }
}
