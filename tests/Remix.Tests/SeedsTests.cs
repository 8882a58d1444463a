using Remix.Data;
using Remix.Experiments;
using Remix.Tests.Support;

namespace Remix.Tests;

/// <summary>
/// The seeds of the runs recorded in bench/RESULTS.md came from formulas written out where they were used; these
/// pin <see cref="Seeds"/> to them, so that moving them into one helper changed no run's numbers.
/// </summary>
public class SeedsTests
{
    static readonly int[] Values = [0, 1, 2, 3, 7, 41, 1_000_003, -5, int.MaxValue, int.MinValue, int.MaxValue / 3];

    [Fact]
    public void EverySeed_IsTheFormulaTheRecordedRunsUsed_WrappingAsItDid()
    {
        foreach (int a in Values)
            foreach (int b in Values)
            {
                Assert.Equal(unchecked(a + b), Seeds.Stage(a, b));                  // TrainStage: stage.Recipe.Seed + seed
                Assert.Equal(unchecked(a + 1_000_003 * b), Seeds.Mixing(a, b));     // TrainingSet: seed + 1_000_003 * index
                Assert.Equal(unchecked(a + 7919 * b), Seeds.Share(a, b));           // DataMixer: seed + 7919 * ++index
                Assert.Equal(unchecked(a * 1_000_003 + b), Seeds.DataOrder(a, b, fixedOrder: false)); // Trainer.EpochSeed
                Assert.Equal(a, Seeds.DataOrder(a, b, fixedOrder: true));          // FixedOrder: o.Seed
            }
        // And as numbers, wrapped ones included.
        Assert.Equal(2_000_009, Seeds.DataOrder(2, 3, false));
        Assert.Equal(2_146_483_645, Seeds.DataOrder(int.MaxValue, 0, false));
        Assert.Equal(-2_144_483_640, Seeds.Mixing(int.MaxValue, 3));
        Assert.Equal(-2_147_475_729, Seeds.Share(int.MinValue, 1));
    }

    [Fact]
    public void TheRunnersMixingDraws_AreSeededAsBefore_StageByStage()
    {
        // The draws name their seed in their ids (random-SEED-I): stage 2 of run seed 3 with recipe seed 4 must draw
        // under 3 + 4 + 1_000_003 * 1 (its position) + 7919 * 1 (its first share), as before the helper.
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("base"));
        var (a, b) = KvrGenerator.GeneratePair(4, 2, 1);
        ExampleJsonl.Write(dir.File("a.jsonl"), a);
        ExampleJsonl.Write(dir.File("b.jsonl"), b);
        File.WriteAllLines(dir.File("words.txt"), ["alpha", "bravo", "charlie"]);
        File.WriteAllText(dir.File("spec.yaml"), """
            name: seeds
            base_model: base
            seed: 3
            recipe: {seed: 4}
            stages:
              - {name: A, data: a.jsonl, mix: [{source: random, ratio: 1, file: words.txt}]}
              - {name: B, data: b.jsonl, mix: [{source: random, ratio: 1, file: words.txt}], replay: {stage: A, fraction: 1}}
            """);
        var spec = ExperimentSpec.Load(dir.File("spec.yaml"));
        var runner = new ExperimentRunner(spec);
        int stageSeed = spec.Stages[1].Recipe.Seed + spec.Seeds[0];
        Assert.Equal(7, stageSeed);
        Assert.Equal(["random-7926-0", "random-7926-1", "random-7926-2", "random-7926-3"], runner.TrainingSet(spec.Stages[0], 0, [a, b], stageSeed).Skip(4).Select(e => e.Id));
        var second = runner.TrainingSet(spec.Stages[1], 1, [a, b], stageSeed);
        Assert.Equal(["random-1007929-0", "random-1007929-1"], second.Skip(2).Take(2).Select(e => e.Id));
        // The replay share is the second: it draws all of A, shuffled by 7 + 1_000_003 + 7919 * 2.
        var order = Enumerable.Range(0, 4).ToArray();
        new Random(7 + 1_000_003 + 7919 * 2).Shuffle(order);
        Assert.Equal(order.Select(i => a[i].Id), second.Skip(4).Select(e => e.Id));
    }
}
