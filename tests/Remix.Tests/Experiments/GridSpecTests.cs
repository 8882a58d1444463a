using System.Text.Json.Nodes;
using Remix.Experiments;
using Remix.Tests.Support;
using static Remix.Tests.Experiments.ExperimentRunnerTests;

namespace Remix.Tests.Experiments;

public class GridSpecTests
{
    /// <summary>A two-stage base experiment (stage B mixes random words) for the axes below it.</summary>
    const string Base = """
        name: g
        base_model: base
        seeds: [0, 1]
        recipe: {lr: 0.01, epochs: 2, batch_size: 4}
        stages:
          - {name: A, data: a.jsonl}
          - name: B
            data: b.jsonl
            mix: [{source: random, ratio: 1.0, file: words.txt}]

        """;

    static TempDir Folder()
    {
        var dir = new TempDir();
        BaseModelAndTwoSets(dir);
        File.WriteAllText(dir.File("words.txt"), "alpha\nbravo\ncharlie\ndelta\n");
        return dir;
    }

    static string Grid(TempDir dir, string axes, string name = "grid.yaml") => Write(dir.File(name), Base + axes);

    [Fact]
    public void Product_TakesEveryCombination_EachSeedAnEntry_WithTheValuesSet()
    {
        using var dir = Folder();
        var grid = GridSpec.Load(Grid(dir, """
            axes:
              stages[1].mix[0].ratio: [0, 2]
              recipe.lr: [0.01, {name: fast, value: 0.1}]
            """));

        Assert.Equal(8, grid.Entries.Count);
        var found = grid.Entries.Select(e => (e.Experiment.Stages[1].Mix[0].Ratio, e.Experiment.Stages[0].Recipe.LearningRate, e.Seed)).ToList();
        var expected = from ratio in new[] { 0.0, 2.0 } from lr in new[] { 0.01, 0.1 } from seed in new[] { 0, 1 } select (ratio, lr, seed);
        Assert.Equal(expected, found);
        Assert.Equal(["0", "0", "0", "0", "2", "2", "2", "2"], grid.Entries.Select(e => e.Values[0].Value.Name));
        Assert.Equal(["0.01", "0.01", "fast", "fast"], grid.Entries.Take(4).Select(e => e.Values[1].Value.Name));
        // Each entry is an experiment of its one seed, in the parsed spec and in its JSON.
        Assert.All(grid.Entries, e => Assert.Equal([e.Seed], e.Experiment.Seeds));
        Assert.All(grid.Entries, e => Assert.Equal($"[{e.Seed}]", e.Spec["seeds"]!.ToJsonString()));
        Assert.Equal(8, grid.Entries.Select(e => e.Id).Distinct().Count());
        Assert.StartsWith("ratio-2_lr-fast_seed-1_", grid.Entries[^1].Id);
    }

    [Fact]
    public void TwoSeeds_TimesAnAxisOfTwo_AreFourEntries_WhetherTheSeedsAreTheBasesOrAnAxis()
    {
        using var dir = Folder();
        var fromBase = GridSpec.Load(Grid(dir, "axes:\n  recipe.epochs: [1, 3]\n"));
        var fromAxis = GridSpec.Load(Write(dir.File("axis.yaml"), Base.Replace("seeds: [0, 1]", "seed: 7") + "axes:\n  seeds: [0, 1]\n  recipe.epochs: [1, 3]\n"));

        foreach (var grid in new[] { fromBase, fromAxis })
        {
            Assert.Equal([(1, 0), (1, 1), (3, 0), (3, 1)], grid.Entries.Select(e => (e.Experiment.Stages[1].Recipe.Epochs, e.Seed)));
            Assert.All(grid.Entries, e => Assert.Single(e.Values));
        }
        // The seeds axis takes the place of the base's seed: the entries are the same experiments.
        Assert.Equal(fromBase.Entries.Select(e => e.Spec.ToJsonString()), fromAxis.Entries.Select(e => e.Spec.ToJsonString()));
        Assert.Equal(fromBase.Entries.Select(e => e.Id), fromAxis.Entries.Select(e => e.Id));
    }

    [Fact]
    public void Zip_VariesItsAxesTogether_AndTheProductWithTheRest()
    {
        using var dir = Folder();
        var grid = GridSpec.Load(Grid(dir, """
            axes:
              recipe.lr: [0.01, 0.02, 0.03]
              stages[1].mix[0].ratio: [0, 1]
              recipe.epochs: [1, 2, 3]
            zip: [[recipe.lr, recipe.epochs]]
            """));

        var configurations = grid.Entries.Where(e => e.Seed == 0).Select(e => (e.Experiment.Stages[0].Recipe.LearningRate, e.Experiment.Stages[1].Mix[0].Ratio, e.Experiment.Stages[0].Recipe.Epochs));
        Assert.Equal([(0.01, 0, 1), (0.01, 1, 1), (0.02, 0, 2), (0.02, 1, 2), (0.03, 0, 3), (0.03, 1, 3)], configurations);
        Assert.Equal(12, grid.Entries.Count);
        // An entry lists its values in the file's order of the axes, the zipped ones apart as written.
        Assert.Equal(["recipe.lr", "stages[1].mix[0].ratio", "recipe.epochs"], grid.Entries[0].Values.Select(v => v.Path));
    }

    [Theory]
    [InlineData("[[recipe.lr, recipe.epochs]]", "zip[0]: axes that vary together need as many values each: recipe.lr has 3, recipe.epochs has 2")]
    [InlineData("[[recipe.lr, recipe.epoch]]", "zip[0][1]: \"recipe.epoch\" is not an axis (did you mean 'recipe.epochs'?)")]
    [InlineData("[[recipe.lr, seeds]]", "zip[0][1]: seeds vary on their own: each seed of each configuration is an entry")]
    [InlineData("[[recipe.lr]]", "zip[0]: expected two or more axis paths (axes that vary together), found [\"recipe.lr\"]")]
    public void AZipGroup_OfUnequalLengthsOrUnknownAxes_IsRefused(string zip, string message)
    {
        using var dir = Folder();
        var path = Grid(dir, $"axes:\n  recipe.lr: [0.01, 0.02, 0.03]\n  recipe.epochs: [1, 2]\n  seeds: [0, 1]\nzip: {zip}\n");
        var e = Assert.Throws<InvalidInputException>(() => GridSpec.Load(path));
        Assert.EndsWith(message, e.Message);
        Assert.StartsWith($"{path}:14:", e.Message);
    }

    [Fact]
    public void ValueNames_AreDerived_FromFilesListsAndNumbers_OrGiven()
    {
        using var dir = Folder();
        Directory.CreateDirectory(dir.File("sets"));
        File.Copy(dir.File("b.jsonl"), Path.Combine(dir.File("sets"), "c.jsonl"));
        var grid = GridSpec.Load(Grid(dir, """
            axes:
              stages[0].data: [a.jsonl, sets/c.jsonl, [a.jsonl, sets/c.jsonl], {name: both, value: [{file: a.jsonl}, b.jsonl]}]
              stages[1].recipe.stop: ["accuracy:1.0"]
            """));

        Assert.Equal(["a", "c", "a+c", "both"], grid.Entries.Where(e => e.Seed == 0).Select(e => e.Values[0].Value.Name));
        Assert.Equal("accuracy:1.0", grid.Entries[0].Values[1].Value.Name);
        Assert.Equal(["c.jsonl"], grid.Entries[2].Experiment.Stages[0].Data.Select(d => Path.GetFileName(d.File)));
        // The stage had no recipe of its own: the axis gave it one.
        Assert.Equal("""{"stop":"accuracy:1.0"}""", grid.Entries[0].Spec["stages"]![1]!["recipe"]!.ToJsonString());
    }

    [Theory]
    [InlineData("stages[3].recipe.lr: [0.1]", "axes.stages[3].recipe.lr: stages[3] does not exist (the spec has 2 stages)")]
    [InlineData("recipe.lrr: [0.1]", "axes.recipe.lrr: recipe.lrr is no spec field (did you mean 'lr'?)")]
    [InlineData("stages[0].data[1]: [b.jsonl]", "axes.stages[0].data[1]: stages[0].data is not a list in the base spec, so stages[0].data[1] names nothing")]
    [InlineData("stages[0].regularizer.strength: [0.1]", "axes.stages[0].regularizer.strength: stages[0].regularizer is not in the base spec: write it there to vary its keys")]
    public void APathThatNamesNoField_IsRefused_AtTheAxisKey(string axis, string message)
    {
        using var dir = Folder();
        var path = Grid(dir, $"axes:\n  recipe.epochs: [1]\n  {axis}\n");
        var e = Assert.Throws<InvalidInputException>(() => GridSpec.Load(path));
        // Base ends on its line 9: "axes:" is line 10, this axis line 12, its key at column 3.
        Assert.Equal($"{path}:12:3: {message}", e.Message);
    }

    [Fact]
    public void ABadValue_IsRefusedAsInASpec_AtTheValueInTheGridFile()
    {
        using var dir = Folder();
        var path = Grid(dir, "axes:\n  recipe.lr: [0.01, -1]\n");
        var e = Assert.Throws<InvalidInputException>(() => GridSpec.Load(path));
        Assert.StartsWith($"{path}:11:21: recipe.lr: expected a positive number", e.Message);
    }

    [Fact]
    public void Plan_WritesOneResolvedEntryALine_AndPlanningAgainIsANoOp()
    {
        using var dir = Folder();
        var grid = Grid(dir, "axes:\n  stages[1].mix[0].ratio: [0, 2]\n");
        var plan = dir.File("plan");

        var first = Support.Cli.Run("grid", "plan", grid, "--out", plan);
        Assert.True(first.Code == 0, first.Err);
        Assert.Contains("4 entries (2 configurations, each seed an entry) over 1 axis: stages[1].mix[0].ratio (2)", first.Out);
        Assert.Contains("4 new, 0 planned before", first.Out);
        Assert.Equal(File.ReadAllText(grid), File.ReadAllText(Path.Combine(plan, "grid.yaml")));
        var lines = File.ReadAllLines(Path.Combine(plan, "runs.jsonl"));
        Assert.Equal(4, lines.Length);
        var line = JsonNode.Parse(lines[3])!.AsObject();
        Assert.Equal(["id", "axes", "seed", "spec"], line.Select(p => p.Key));
        Assert.Equal("""{"stages[1].mix[0].ratio":{"name":"2","value":2}}""", line["axes"]!.ToJsonString());
        Assert.Equal(1, (int)line["seed"]!);
        Assert.Equal("[1]", line["spec"]!["seeds"]!.ToJsonString());
        Assert.Equal(2, (double)line["spec"]!["stages"]![1]!["mix"]![0]!["ratio"]!);

        var before = File.ReadAllText(Path.Combine(plan, "runs.jsonl"));
        var again = Support.Cli.Run("grid", "plan", grid, "--out", plan);
        Assert.Equal(0, again.Code);
        Assert.Contains("holds every entry already: nothing to plan", again.Out);
        Assert.Equal(before, File.ReadAllText(Path.Combine(plan, "runs.jsonl")));
    }

    [Fact]
    public void AnAxisGainingAValue_IsRefusedWithoutExtend_AndExtendAppendsOnlyTheNewEntries_KeepingEveryId()
    {
        using var dir = Folder();
        var plan = dir.File("plan");
        Assert.Equal(0, Support.Cli.Run("grid", "plan", Grid(dir, "axes:\n  stages[1].mix[0].ratio: [0, 2]\n", "small.yaml"), "--out", plan).Code);
        var before = File.ReadAllText(Path.Combine(plan, "runs.jsonl"));
        var grown = Grid(dir, "axes:\n  stages[1].mix[0].ratio: [0, 2, 4]\n", "grown.yaml");

        var refused = Support.Cli.Run("grid", "plan", grown, "--out", plan);
        Assert.Equal(1, refused.Code);
        Assert.Equal($"remix: {plan}: planned from another grid spec (its grid.yaml differs from {grown}): pass --extend to add the new entries, or plan into another folder\n", refused.Err);
        Assert.Equal(before, File.ReadAllText(Path.Combine(plan, "runs.jsonl")));

        var extended = Support.Cli.Run("grid", "plan", grown, "--out", plan, "--extend");
        Assert.True(extended.Code == 0, extended.Err);
        Assert.Contains("2 new, 4 planned before", extended.Out);
        var after = File.ReadAllText(Path.Combine(plan, "runs.jsonl"));
        Assert.StartsWith(before, after);
        var ids = after.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (string)JsonNode.Parse(l)!["id"]!).ToList();
        Assert.Equal(GridSpec.Load(grown).Entries.Select(e => e.Id).Order(), ids.Order());
        Assert.All(ids.Skip(4), id => Assert.StartsWith("ratio-4_", id));
        Assert.Equal(File.ReadAllText(grown), File.ReadAllText(Path.Combine(plan, "grid.yaml")));
    }
    [Fact]
    public void NullLeavesAFieldOut_SoAZipGroupCanBeAMethod_NamedInTheIdByItsFirstAxis()
    {
        using var dir = Folder();
        var grid = GridSpec.Load(Grid(dir, """
            axes:
              stages[1].replay: [{name: naive, value: null}, {name: replay, value: {stage: A, fraction: 0.5}}]
              stages[1].mix: [{name: naive, value: []}, {name: replay, value: null}]
            zip: [["stages[1].replay", "stages[1].mix"]]
            """));

        var (naive, replay) = (grid.Entries[0], grid.Entries[2]);
        Assert.Null(naive.Experiment.Stages[1].Replay);
        Assert.Empty(naive.Experiment.Stages[1].Mix);
        Assert.Equal(new ReplaySpec("A", 0.5), replay.Experiment.Stages[1].Replay);
        Assert.Empty(replay.Experiment.Stages[1].Mix);
        Assert.False(replay.Spec["stages"]![1]!.AsObject().ContainsKey("mix"));
        Assert.StartsWith("replay-naive_seed-0_", naive.Id);
        Assert.StartsWith("replay-replay_seed-0_", replay.Id);
    }

    [Fact]
    public void ThePaperGrid_Plans_144Entries_ForAnotherMachine()
    {
        using var dir = new TempDir();
        var example = Remix.Data.Bundled.BundledPaths.Find("examples/paper-grid.yaml");
        var (code, stdout, stderr) = Support.Cli.Run("grid", "plan", example, "--out", dir.File("plan"), "--allow-missing");

        Assert.True(code == 0, stderr);
        Assert.Contains("144 entries (48 configurations, each seed an entry) over 7 axes: base_model (2) x stages[0].data (2) x stages[1].data (2) x stages[0].mix + stages[1].mix + stages[1].replay + stages[1].regularizer (6)", stdout);
        Assert.Contains("not on this machine: checkpoints/Mistral-7B-v0.3", stdout);
        var grid = GridSpec.Load(example, requireFiles: false);
        var methods = grid.Entries.GroupBy(e => e.Values.First(v => v.Path == "stages[0].mix").Value.Name).ToDictionary(g => g.Key, g => g.First().Experiment.Stages);
        Assert.Equal(["naive", "replay", "l2", "remix-x1", "remix-x2", "remix-x4"], methods.Keys);
        Assert.Equal("l2", methods["l2"][1].Regularizer!.Type);
        Assert.Null(methods["l2"][1].Replay);
        Assert.Equal(0.1, methods["replay"][1].Replay!.Fraction);
        Assert.Equal([4.0, 4.0], methods["remix-x4"].Select(s => s.Mix.Single().Ratio));
        Assert.All(methods["naive"], s => Assert.True(s.Mix.Count == 0 && s.Replay is null && s.Regularizer is null));
    }
    /// <summary>
    /// The study grid examples/studies/<paramref name="name"/>.yaml, planned by <c>remix grid plan</c> (every base it names is in
    /// the checkout) into <paramref name="entries"/> entries of <paramref name="configurations"/> configurations; returns its path.
    /// </summary>
    static string PlannedStudy(string name, int entries, int configurations)
    {
        using var dir = new TempDir();
        var example = Remix.Data.Bundled.BundledPaths.Find($"examples/studies/{name}.yaml");
        var (code, stdout, stderr) = Support.Cli.Run("grid", "plan", example, "--out", dir.File("plan"));
        Assert.True(code == 0, stderr);
        Assert.Contains($"{entries} entries ({configurations} configurations, each seed an entry)", stdout);
        return example;
    }

    [Fact]
    public void TheScaleStudy_Plans_EveryBaseOfTheLadder_WithTheDemosMethods()
    {
        var example = PlannedStudy("scale-capitals-grid", entries: 144, configurations: 48);
        var grid = GridSpec.Load(example);
        var bases = grid.Entries.Select(e => e.Experiment.BaseModel).Distinct().ToList();
        Assert.Equal(8, bases.Count);
        var sizes = bases.Select(b => Remix.Checkpoints.HfCheckpoint.LoadConfig(b).NonEmbeddingParameterCount).ToList();
        Assert.True(sizes.Max() >= 16 * sizes.Min(), string.Join(", ", sizes));
        // Each method is the demo's condition of that name, stage by stage (but stage 1's epoch cap: the demo's D_A is
        // the key-value facts, which may take 100 epochs; TheKvrStudy_... checks the demo is that grid's entries at its base).
        var demo = DemoExperiment.Conditions(quick: false).ToDictionary(c => c.Name == "replay-10%" ? "replay" : c.Name);
        foreach (var method in grid.Entries.GroupBy(e => e.Values.First(v => v.Path == "stages[0].mix").Value.Name))
        {
            var stages = method.First().Experiment.Stages;
            var reference = demo[method.Key].Stages;
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal(reference[i].Mix.Select(m => (m.Source, m.Ratio, m.PromptWords, m.TargetWords)), stages[i].Mix.Select(m => (m.Source, m.Ratio, m.PromptWords, m.TargetWords)));
                Assert.Equal(reference[i].Replay, stages[i].Replay);
                Assert.Equal(reference[i].Regularizer, stages[i].Regularizer);
                Assert.Equal(i == 0 ? reference[i].Recipe with { Epochs = 40 } : reference[i].Recipe, stages[i].Recipe);
                Assert.Equal(reference[i].Limit, stages[i].Limit);
            }
        }
    }

    [Fact]
    public void TheEqualComputeControl_GivesEveryMethodsStageOne_TheMostStepsAREMIXStageOneCanTake()
    {
        var example = PlannedStudy("scale-capitals-equal-steps-grid", entries: 144, configurations: 48);

        var grid = GridSpec.Load(example);
        var main = GridSpec.Load(Remix.Data.Bundled.BundledPaths.Find("examples/studies/scale-capitals-grid.yaml"));
        var demoA = main.Entries.First().Experiment.Stages[0];
        // The budget is the main grid's cap on a REMIX stage 1: its epochs x the steps of an epoch of 40 facts + 40 sequences.
        int remixSteps = demoA.Recipe.Epochs * (int)Math.Ceiling(2.0 * demoA.Limit!.Value / demoA.Recipe.BatchSize);
        Assert.Equal(200, remixSteps);
        foreach (var entry in grid.Entries)
        {
            var (a, b) = (entry.Experiment.Stages[0], entry.Experiment.Stages[1]);
            Assert.Equal(new Remix.Training.StopRule.StepsReached(remixSteps), a.Recipe.Stop);
            Assert.True(a.Recipe.Epochs * (int)Math.Ceiling((double)a.Limit!.Value / a.Recipe.BatchSize) >= remixSteps); // the cap never binds first for naive
            Assert.Equal(demoA.Recipe with { Stop = a.Recipe.Stop, Epochs = a.Recipe.Epochs }, a.Recipe); // otherwise the main grid's stage 1
            Assert.Equal(main.Entries.First().Experiment.Stages[1].Recipe, b.Recipe);
        }
        // The methods are the main grid's of the same name, stage by stage.
        var methods = main.Entries.GroupBy(e => e.Values.First(v => v.Path == "stages[0].mix").Value.Name).ToDictionary(g => g.Key, g => g.First().Experiment.Stages);
        foreach (var method in grid.Entries.GroupBy(e => e.Values.First(v => v.Path == "stages[0].mix").Value.Name))
        {
            var reference = methods[method.Key.Replace("-200-steps", "")];
            var stages = method.First().Experiment.Stages;
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal(reference[i].Mix.Select(m => (m.Source, m.Ratio, m.PromptWords, m.TargetWords)), stages[i].Mix.Select(m => (m.Source, m.Ratio, m.PromptWords, m.TargetWords)));
                Assert.Equal(reference[i].Replay, stages[i].Replay);
                Assert.Equal(reference[i].Regularizer, stages[i].Regularizer);
            }
        }
        Assert.Equal(6, methods.Count);
        Assert.Equal(methods.Keys.Order(), grid.Entries.Select(e => e.Values.First(v => v.Path == "stages[0].mix").Value.Name.Replace("-200-steps", "")).Distinct().Order());
    }

    /// <summary>Whether two study entries train by one method: the same mixing, replay and regularizer in both stages.</summary>
    static void SameMethod(GridEntry expected, GridEntry actual)
    {
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(expected.Experiment.Stages[i].Mix, actual.Experiment.Stages[i].Mix);
            Assert.Equal(expected.Experiment.Stages[i].Replay, actual.Experiment.Stages[i].Replay);
            Assert.Equal(expected.Experiment.Stages[i].Regularizer, actual.Experiment.Stages[i].Regularizer);
        }
    }

    [Fact]
    public void TheKvrStudy_IsTheCapitalsStudy_WithTheCommittedKvrSetAsDA()
    {
        using var dir = new TempDir();
        // The committed set is what remix data kvr writes for its seed, byte for byte.
        var committed = Remix.Data.Bundled.BundledPaths.Find("examples/studies/data/kvr-40.jsonl");
        Assert.Equal(0, Support.Cli.Run("data", "kvr", "--n", "40", "--seed", "0", "--out", dir.File("kvr.jsonl")).Code);
        Assert.Equal(File.ReadAllBytes(dir.File("kvr.jsonl")), File.ReadAllBytes(committed));

        var example = PlannedStudy("scale-kvr-grid", entries: 144, configurations: 48);
        var kvr = GridSpec.Load(example).Entries;
        var capitals = GridSpec.Load(Remix.Data.Bundled.BundledPaths.Find("examples/studies/scale-capitals-grid.yaml")).Entries;
        Assert.Equal(capitals.Count, kvr.Count);
        foreach (var (k, c) in kvr.Zip(capitals))
        {
            Assert.Equal(Path.GetFullPath(committed), Path.GetFullPath(Assert.Single(k.Experiment.Stages[0].Data).File));
            Assert.Equal(40, k.Experiment.Stages[0].ReadSet().Count);
            Assert.Equal(c.Experiment.Stages[0].Recipe with { Epochs = 100 }, k.Experiment.Stages[0].Recipe);
            Assert.Equal(c.Experiment.BaseModel, k.Experiment.BaseModel);
            Assert.Equal(c.Seed, k.Seed);
            Assert.Equal(c.Experiment.Stages[1].Data, k.Experiment.Stages[1].Data);
            Assert.Equal(c.Experiment.Stages[1].Recipe, k.Experiment.Stages[1].Recipe);
            SameMethod(c, k);
        }
        // The demo is this grid's entries at its base for the demo's seeds: the same spec but for its name.
        var demo = DemoExperiment.Conditions(quick: false).Where(c => !c.Joint && c.Name != "naive-nonfactoid-B").ToList();
        Assert.Equal(6, demo.Count);
        foreach (var condition in demo)
        {
            var method = condition.Name == "replay-10%" ? "replay" : condition.Name;
            foreach (int seed in condition.Seeds)
            {
                var entry = kvr.Single(e => e.Seed == seed && e.Values.First(v => v.Path == "stages[0].mix").Value.Name == method
                    && e.Values.First(v => v.Path == "base_model").Value.Name == "dim192-l4").Experiment;
                Assert.Equal(Path.GetFullPath(entry.BaseModel), Path.GetFullPath(condition.BaseModel));
                for (int i = 0; i < 2; i++)
                {
                    var (d, g) = (condition.Stages[i], entry.Stages[i]);
                    Assert.Equal(g.Data.Select(x => Path.GetFullPath(x.File)), d.Data.Select(x => Path.GetFullPath(x.File)));
                    Assert.Equal((g.Limit, g.Recipe, g.Replay, g.Regularizer), (d.Limit, d.Recipe, d.Replay, d.Regularizer));
                    Assert.Equal(g.Mix.Select(m => (m.Source, m.Ratio, m.PromptWords, m.TargetWords)), d.Mix.Select(m => (m.Source, m.Ratio, m.PromptWords, m.TargetWords)));
                }
            }
        }
    }

    /// <summary>The smallest and the largest base of the capitals study's ladder, by parameters outside the embeddings.</summary>
    static string[] LadderEnds()
    {
        var ladder = GridSpec.Load(Remix.Data.Bundled.BundledPaths.Find("examples/studies/scale-capitals-grid.yaml")).Entries
            .Select(e => e.Experiment.BaseModel).Distinct().Select(b => (Base: b, Size: Remix.Checkpoints.HfCheckpoint.LoadConfig(b).NonEmbeddingParameterCount)).ToList();
        return [ladder.MinBy(b => b.Size).Base, ladder.MaxBy(b => b.Size).Base];
    }

    [Fact]
    public void TheAblations_RunEveryRatioAndLength_AtTheSmallestAndLargestBaseOfTheLadder()
    {
        var example = PlannedStudy("scale-ablations-grid", entries: 54, configurations: 18);

        var entries = GridSpec.Load(example).Entries;
        Assert.Equal(LadderEnds().Order(), entries.Select(e => e.Experiment.BaseModel).Distinct().Order());
        var settings = entries.Select(e => Assert.Single(e.Experiment.Stages[0].Mix)).Select(m => (m.Source, m.Ratio, m.PromptWords, m.TargetWords)).Distinct().ToList();
        var expected = from r in new[] { 1.0, 2.0, 4.0 } from w in new[] { 5, 10, 25 } select ("random", r, w, w);
        Assert.Equal(expected.Order(), settings.Order());
        Assert.All(entries, e => Assert.Empty(e.Experiment.Stages[1].Mix));
        Assert.Equal([0, 1, 2], entries.Select(e => e.Seed).Distinct().Order());
    }

    [Fact]
    public void TheNonFactoidStudy_IsTheCapitalsStudy_AtTheSmallestAndLargestBase_WithTheDemosNonFactoidStageTwoAtTwoSizes_OfEqualSteps()
    {
        var example = PlannedStudy("scale-nonfactoid-grid", entries: 72, configurations: 24);

        var demoB = DemoExperiment.Conditions(quick: false).Single(c => c.Name == "naive-nonfactoid-B").Stages[1];
        var ends = LadderEnds();
        var capitals = GridSpec.Load(Remix.Data.Bundled.BundledPaths.Find("examples/studies/scale-capitals-grid.yaml")).Entries
            .Where(e => ends.Contains(e.Experiment.BaseModel)).ToList();
        var entries = GridSpec.Load(example).Entries;
        Assert.Equal(ends.Order(), entries.Select(e => e.Experiment.BaseModel).Distinct().Order());
        foreach (var size in entries.GroupBy(e => e.Experiment.Stages[1].Limit))
        {
            Assert.Equal(capitals.Count, size.Count());
            foreach (var (n, c) in size.Zip(capitals))
            {
                var b = n.Experiment.Stages[1];
                Assert.Equal(demoB.Data, b.Data);
                // 40 solutions: the demo's stage; 160: the same recipe for as many optimizer steps (10 an epoch against 3).
                Assert.Equal(demoB.Recipe with { Epochs = b.Limit == 40 ? demoB.Recipe.Epochs : 6 }, b.Recipe);
                Assert.Equal(demoB.Recipe.Epochs * (int)Math.Ceiling(40.0 / demoB.Recipe.BatchSize), b.Recipe.Epochs * (int)Math.Ceiling((double)b.Limit!.Value / b.Recipe.BatchSize));
                Assert.Equal(c.Experiment.BaseModel, n.Experiment.BaseModel);
                Assert.Equal(c.Experiment.Stages[0].Recipe, n.Experiment.Stages[0].Recipe);
                Assert.Equal(c.Experiment.Stages[0].Data, n.Experiment.Stages[0].Data);
                SameMethod(c, n);
            }
        }
        Assert.Equal([40, 160], entries.Select(e => e.Experiment.Stages[1].Limit!.Value).Distinct().Order());
        Assert.Equal(160, entries.First(e => e.Experiment.Stages[1].Limit == 160).Experiment.Stages[1].ReadSet().Count);
    }

    [Fact]
    public void AnErrorInTheBaseSpec_IsRefusedAtItsKeyInTheGridFile()
    {
        using var dir = Folder();
        var path = Write(dir.File("grid.yaml"), Base.Replace("epochs: 2", "epoch: 2") + "axes:\n  recipe.lr: [0.01]\n");
        var e = Assert.Throws<InvalidInputException>(() => GridSpec.Load(path));
        Assert.Equal($"{path}:4:20: recipe.epoch: unknown key (did you mean 'epochs'?)", e.Message);
    }

    [Fact]
    public void PlanningIntoAFolderThatHoldsSomethingElse_IsRefused_AndWritesNothing()
    {
        using var dir = Folder();
        Directory.CreateDirectory(dir.File("plan"));
        File.WriteAllText(Path.Combine(dir.File("plan"), "notes.txt"), "mine");
        var r = Support.Cli.Run("grid", "plan", Grid(dir, "axes:\n  recipe.lr: [0.01]\n"), "--out", dir.File("plan"), "--extend");
        Assert.Equal($"remix: {dir.File("plan")}: not a grid plan (no grid.yaml) and not empty: plan into a new or empty folder\n", r.Err);
        Assert.Equal(["notes.txt"], Directory.GetFiles(dir.File("plan")).Select(Path.GetFileName));
    }
}
