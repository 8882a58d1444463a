using Remix.Experiments;

namespace Remix.Tests.Experiments;

public class DemoExperimentTests
{
    [Fact]
    public void Conditions_CoverTheBaselinesAndTheThreeRemixVariants_OnBundledData()
    {
        var conditions = DemoExperiment.Conditions(DemoExperiment.Size.Quick);
        Assert.Equal(["naive", "replay-10%", "remix-random-stage1", "remix-generic-stage2", "remix-both", "l2", "joint", "naive-nonfactoid-B"], conditions.Select(c => c.Name));
        Assert.All(conditions, c =>
        {
            Assert.Equal(2, c.Stages.Count);
            Assert.True(Directory.Exists(c.BaseModel));
            Assert.All(c.Stages.SelectMany(s => s.Data), f => Assert.True(File.Exists(f), f));
        });
        var both = conditions.Single(c => c.Name == "remix-both");
        Assert.Equal("random", both.Stages[0].Mix.Single().Source);
        Assert.Equal("generic", both.Stages[1].Mix.Single().Source);
        Assert.Equal(0.1, conditions.Single(c => c.Name == "replay-10%").Stages[1].Replay!.Fraction);
        Assert.EndsWith("arithmetic-gsm8k.jsonl", conditions[^1].Stages[1].Data[0]);
        Assert.Equal(["joint"], conditions.Where(c => c.Joint).Select(c => c.Name));
    }
}
