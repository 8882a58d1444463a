using System.Text.Json.Nodes;
using Remix.Data;
using Remix.Experiments;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Training;

namespace Remix.Tests.Experiments;

public class ExperimentSpecTests
{
    /// <summary>A valid two-stage spec; each case replaces one of its lines (or, past the end, adds lines) to break it.</summary>
    static readonly string[] Valid =
    [
        "name: t",                         // 1
        "base_model: base",                // 2
        "recipe: {lr: 0.01, epochs: 2}",   // 3
        "stages:",                         // 4
        "  - name: A",                     // 5
        "    data: a.jsonl",               // 6
        "  - name: B",                     // 7
        "    data: [b.jsonl]",             // 8
    ];

    [Theory]
    // Keys that are not spec keys, at every depth, with the nearest valid key of that level as the hint.
    [InlineData(9, "logit_len: true", "9:1: logit_len: unknown key (did you mean 'logit_lens'?)")]
    [InlineData(9, "    limt: 3", "9:5: stages[1].limt: unknown key (did you mean 'limit'?)")]
    [InlineData(9, "    recipe: {shedule: linear}", "9:14: stages[1].recipe.shedule: unknown key (did you mean 'schedule'?)")]
    [InlineData(3, "recipe:\n  lr: 0.01\n  batchsize: 4", "5:3: recipe.batchsize: unknown key (did you mean 'batch_size'?)")]
    [InlineData(9, "    mix: [{source: random, ratoi: 1}]", "9:28: stages[1].mix[0].ratoi: unknown key (did you mean 'ratio'?)")]
    [InlineData(9, "    lora: {rank: 2, alpah: 4}", "9:21: stages[1].lora.alpah: unknown key (did you mean 'alpha'?)")]
    [InlineData(9, "    lora: {rank: 2, targets: [q_proj, v_prj]}", "9:39: stages[1].lora.targets[1]: expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj or lm_head, found \"v_prj\"")]
    [InlineData(9, "    replay: {stage: A, fractoin: 0.1}", "9:24: stages[1].replay.fractoin: unknown key (did you mean 'fraction'?)")]
    [InlineData(9, "    regularizer: {type: kl, strenght: 1}", "9:29: stages[1].regularizer.strenght: unknown key (did you mean 'strength'?)")]
    [InlineData(2, "base_modle: base", "2:1: base_modle: unknown key (did you mean 'base_model'?)")]
    // Values of the wrong type.
    [InlineData(3, "recipe: {lr: fast, epochs: 2}", "3:14: recipe.lr: expected a positive number, found \"fast\"")]
    [InlineData(3, "recipe: {lr: 0.01, epochs: [1, 2]}", "3:28: recipe.epochs: expected a positive integer, found [1,2]")]
    [InlineData(6, "    data: 3", "6:11: stages[0].data: expected a file, {file, format, skip_bad, templates} or a non-empty list of them, found 3")]
    [InlineData(6, "    data: []", "6:11: stages[0].data: expected a file, {file, format, skip_bad, templates} or a non-empty list of them, found []")]
    [InlineData(6, "    data: [a.jsonl, 7]", "6:21: stages[0].data[1]: expected a file or {file, format, skip_bad, templates}, found 7")]
    [InlineData(6, "    data: [{file: a.jsonl, skip_bad: yes}]", "6:38: stages[0].data[0].skip_bad: expected true or false, found \"yes\"")]
    // A dataset format that does not exist, and the object form's keys.
    [InlineData(6, "    data: [{file: a.jsonl, format: popq}]", "6:36: stages[0].data[0].format: unknown format \"popq\" (did you mean 'popqa'?)")]
    [InlineData(6, "    data: [{file: a.jsonl, fromat: popqa}]", "6:28: stages[0].data[0].fromat: unknown key (did you mean 'format'?)")]
    [InlineData(6, "    data: [{format: popqa}]", "6:12: stages[0].data[0].file: missing (expected a data file)")]
    [InlineData(9, "joint: yes", "9:8: joint: expected true or false, found \"yes\"")]
    [InlineData(3, "recipe: {stop: \"loss:x\"}", "3:16: recipe.stop: expected " + StopRule.Syntax + ", found \"loss:x\"")]
    [InlineData(3, "recipe: {betas: [0.9]}", "3:17: recipe.betas: expected two numbers in [0, 1), found [0.9]")]
    [InlineData(1, "name:", "1:6: name: expected a string, found nothing")]
    [InlineData(3, "recipe: [lr, 0.01]", "3:9: recipe: expected an object (key: value, ...), found [\"lr\",0.01]")]
    // Values out of range.
    [InlineData(9, "    mix: [{source: random, ratio: -0.5}]", "9:35: stages[1].mix[0].ratio: expected a non-negative number, found -0.5")]
    [InlineData(3, "recipe: {lr: 0.01, warmup_ratio: 2}", "3:34: recipe.warmup_ratio: expected a number in [0, 1], found 2")]
    [InlineData(9, "    recipe: {batch_size: 0}", "9:26: stages[1].recipe.batch_size: expected a positive integer, found 0")]
    [InlineData(9, "    limit: 0", "9:12: stages[1].limit: expected a positive integer, found 0")]
    // A mixing source that does not exist.
    [InlineData(9, "    mix: [{source: noise, ratio: 1}]", "9:20: stages[1].mix[0].source: expected random or generic, found \"noise\"")]
    // A required key missing: reported where the mapping that lacks it begins.
    [InlineData(8, "    limit: 2", "7:5: stages[1].data: missing (expected a file, {file, format, skip_bad, templates} or a non-empty list of them)")]
    [InlineData(2, "seeds: [0]", "1:1: base_model: missing (expected a checkpoint directory)")]
    [InlineData(9, "    mix: [{ratio: 1}]", "9:11: stages[1].mix[0].source: missing (expected random or generic)")]
    // Checks across fields.
    [InlineData(9, "    replay: {stage: C, fraction: 0.1}", "9:21: stages[1].replay.stage: expected an earlier stage's name (A), found \"C\"")]
    [InlineData(7, "  - name: A", "7:11: stages[1].name: stage names must differ: \"A\" names an earlier stage too")]
    [InlineData(9, "    regularizer: {type: ewc, strength: 1}\n    lora: {rank: 2}",
        "9:18: stages[1].regularizer: expected kl or none with 'lora' (" + Regularizer.WeightAnchoredWithLora + "), found {\"type\":\"ewc\",\"strength\":1}")]
    [InlineData(9, "    mix: [{source: generic, ratio: 1, prompt_words: 20}]",
        "9:53: stages[1].mix[0].prompt_words: expected no word counts for generic passages (always 50 words of prompt, 50 of target), found 20")]
    [InlineData(9, "seeds: [0]\nseed: 1", "10:7: seed: expected 'seeds' or 'seed', not both")]
    [InlineData(9, "device: cuda:abc", "9:9: device: expected cpu, cuda or cuda:N, found \"cuda:abc\"")]
    [InlineData(9, "dtype: fp8", "9:8: dtype: expected auto, float32, bfloat16 or float16, found \"fp8\"")]
    [InlineData(9, "    recipe: {precision: bf16}", "9:25: stages[1].recipe.precision: expected fp32, bf16-master or bf16-pure, found \"bf16\"")]
    [InlineData(9, "    recipe: {precision: bf16-pure}\ndtype: float32",
        "9:25: stages[1].recipe.precision: bf16-pure trains bfloat16 weights, but the dtype is float32; leave the dtype out (auto) or make them agree")]
    // Not YAML at all, or not a spec.
    [InlineData(9, "name: u", "9:1: malformed YAML: Duplicate key name")]
    public void MalformedSpec_IsRefusedInOneLine_AtItsLineAndColumn_NamingTheKeyPath_AndWritesNothing(int line, string text, string expected)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("base"));
        File.WriteAllText(dir.File("a.jsonl"), "");
        File.WriteAllText(dir.File("b.jsonl"), "");
        var lines = Valid.ToList();
        if (line <= lines.Count) lines[line - 1] = text;
        else lines.Add(text);
        var path = dir.File("spec.yaml");
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        var before = Directory.GetFileSystemEntries(dir.Path, "*", SearchOption.AllDirectories).Order().ToList();

        var r = Support.Cli.Run("run", "--config", path, "--validate");

        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {path}:{expected}{Environment.NewLine}", r.Err);
        Assert.Equal("", r.Out);
        Assert.Equal(before, Directory.GetFileSystemEntries(dir.Path, "*", SearchOption.AllDirectories).Order());
    }

    [Fact]
    public void TheValidSpecOfTheseCases_Validates()
    {
        // The malformed cases above are each one edit away from this; it must itself pass. There the base model and the
        // data files are empty: a spec is refused before any file it names is read. Here they are real, as --validate reads them.
        using var dir = new TempDir();
        Assert.Equal(0, Support.Cli.Run("model", "init", "--out", dir.File("base"), "--hidden-size", "32").Code);
        ExampleJsonl.Write(dir.File("a.jsonl"), KvrGenerator.Generate(3, 1, idPrefix: "a"));
        ExampleJsonl.Write(dir.File("b.jsonl"), KvrGenerator.Generate(3, 2, idPrefix: "b"));
        File.WriteAllText(dir.File("spec.yaml"), string.Join('\n', Valid) + "\n");
        var r = Support.Cli.Run("run", "--config", dir.File("spec.yaml"), "--validate");
        Assert.True(r.Code == 0, r.Err);
    }

    [Fact]
    public void UnknownKeyWithNoNearName_ListsTheKeysValidThere()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(Write(dir, "spec.yaml", "base_model: base\nstages:\n  - {name: A, data: a.jsonl, colour: red}\n"), requireFiles: false));
        Assert.Equal($"{dir.File("spec.yaml")}:3:30", e.Origin);
        Assert.EndsWith(": stages[0].colour: unknown key (expected 'name', 'limit', 'mix', 'replay', 'regularizer', 'lora', 'recipe' or 'data')", e.Message);
    }

    [Fact]
    public void MalformedYamlOrAnEmptyFile_IsRefusedWithAPosition()
    {
        using var dir = new TempDir();
        // The flow list never closes: the parser notices at the end of the file, where a ',' or ']' should have been.
        Assert.Equal($"{dir.File("a.yaml")}:3:1: malformed YAML: While parsing a flow sequence, did not find expected ',' or ']'.",
            Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(Write(dir, "a.yaml", "base_model: base\nstages: [a.jsonl\n"))).Message);
        // Here YamlDotNet's scanner gives up without a position of its own; where it stopped reading is reported.
        var unclosed = Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(Write(dir, "a.yaml", "base_model: base\nstages: [{name: A\nrecipe: {}\n")));
        Assert.Equal($"{dir.File("a.yaml")}:3:1", unclosed.Origin);
        Assert.StartsWith($"{unclosed.Origin}: malformed YAML: ", unclosed.Message);
        Assert.Equal($"{dir.File("b.yaml")}:1:1: the file is empty", Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(Write(dir, "b.yaml", "# nothing\n"))).Message);
        Assert.Equal($"{dir.File("c.yaml")}:1:1: expected a spec (name, base_model, recipe, stages, ...), found [\"a\",\"b\"]",
            Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(Write(dir, "c.yaml", "- a\n- b\n"))).Message);
    }

    [Fact]
    public void AMissingFile_IsRefusedAtTheValueThatNamesIt_OrListedWhenOnlyValidating()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("base"));
        File.WriteAllText(dir.File("a.jsonl"), "");
        var path = Write(dir, "spec.yaml", "base_model: base\nstages:\n  - name: A\n    data: [a.jsonl, gone.jsonl]\n    mix: [{source: generic, ratio: 1, file: nowhere.jsonl}]\n");
        Assert.Equal(["nowhere.jsonl", "gone.jsonl"], ExperimentSpec.Load(path, requireFiles: false).MissingPaths);
        Assert.Equal($"{path}:5:45: stages[0].mix[0].file: path 'nowhere.jsonl' not found next to the spec or among the bundled files",
            Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(path)).Message);
        File.WriteAllText(dir.File("nowhere.jsonl"), "");
        Assert.Equal($"{path}:4:21: stages[0].data[1]: path 'gone.jsonl' not found next to the spec or among the bundled files",
            Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(path)).Message);
    }

    [Fact]
    public void EveryRecipeKey_ReachesTrainingOptions_AndAStageRecipeOverridesFieldByField()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("base"));
        File.WriteAllText(dir.File("a.jsonl"), "");
        var spec = ExperimentSpec.Load(Write(dir, "spec.yaml", """
            base_model: base
            recipe:
              lr: 0.001
              betas: [0.8, 0.99]
              eps: 1.0e-6
              weight_decay: 0.1
              schedule: linear
              warmup_ratio: 0.2
              clip: 0.5
              batch_size: 8
              grad_accum: 2
              epochs: 3
              max_length: 256
              seed: 7
              fixed_order: true
              group_by_length: true
              stop: "loss:0.01:5"
              eval_every: 4
              save_every: 6
              keep_checkpoints: true
              precision: bf16-pure
            stages:
              - {name: A, data: a.jsonl}
              - {name: B, data: a.jsonl, recipe: {lr: 0.002, schedule: constant, stop: epochs}}
            """));
        var expected = new TrainingOptions
        {
            LearningRate = 0.001, Beta1 = 0.8, Beta2 = 0.99, Epsilon = 1e-6, WeightDecay = 0.1, Schedule = ScheduleKind.Linear,
            WarmupRatio = 0.2, ClipNorm = 0.5, BatchSize = 8, GradientAccumulation = 2, Epochs = 3, MaxLength = 256, Seed = 7,
            FixedOrder = true, GroupByLength = true, Stop = new StopRule.LossBelow(0.01, 5), EvalEvery = 4, SaveEvery = 6, KeepCheckpoints = true,
            Precision = Precision.Bf16Pure,
        };
        Assert.Equal(expected, spec.Stages[0].Recipe);
        Assert.Equal(expected with { LearningRate = 0.002, Schedule = ScheduleKind.Constant, Stop = new StopRule.Epochs() }, spec.Stages[1].Recipe);
        // Every field but the internal garbage-collection knob was set away from its default: none is out of the spec's reach.
        var unset = typeof(TrainingOptions).GetProperties()
            .Where(p => p.Name != nameof(TrainingOptions.CollectEvery) && Equals(p.GetValue(spec.Stages[0].Recipe), p.GetValue(new TrainingOptions())))
            .Select(p => p.Name);
        Assert.Empty(unset);
    }

    [Theory]
    [InlineData("lr: 0", "lr", "a positive number", "0")]
    [InlineData("betas: [0.9, 1]", "betas", "two numbers in [0, 1)", "[0.9,1]")]
    [InlineData("eps: 0", "eps", "a positive number", "0")]
    [InlineData("weight_decay: -1", "weight_decay", "a non-negative number", "-1")]
    [InlineData("warmup_ratio: -0.1", "warmup_ratio", "a number in [0, 1]", "-0.1")]
    [InlineData("clip: -1", "clip", "a non-negative number", "-1")]
    [InlineData("batch_size: 0", "batch_size", "a positive integer", "0")]
    [InlineData("grad_accum: 0", "grad_accum", "a positive integer", "0")]
    [InlineData("epochs: 0", "epochs", "a positive integer", "0")]
    [InlineData("max_length: 1", "max_length", "an integer of at least 2", "1")]
    [InlineData("eval_every: -1", "eval_every", "a non-negative step count", "-1")]
    [InlineData("save_every: -2", "save_every", "a non-negative step count", "-2")]
    [InlineData("schedule: cosin", "schedule", "cosine, linear or constant", "\"cosin\"")]
    [InlineData("seed: 1.5", "seed", "an integer", "1.5")]
    [InlineData("keep_checkpoints: 1", "keep_checkpoints", "true or false", "1")]
    public void EveryRecipeRange_IsTrainingOptionsOwn_ReportedAtTheYamlKey(string field, string key, string expected, string found)
    {
        using var dir = new TempDir();
        var path = Write(dir, "spec.yaml", $"base_model: base\nstages:\n  - name: A\n    data: a.jsonl\n    recipe:\n      {field}\n");
        var e = Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(path, requireFiles: false));
        Assert.Equal($"{path}:6:{8 + key.Length + 1}: stages[0].recipe.{key}: expected {expected}, found {found}", e.Message);
    }

    [Fact]
    public void AJsonSpec_ReadsAsTheSameYamlSpec_KeepsItsSnapshot_AndErrorsCarryItsPositions()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("base"));
        File.WriteAllText(dir.File("a.jsonl"), "");
        File.WriteAllText(dir.File("words.txt"), "alpha\nbravo\n");
        const string json = """
            {
              "name": "json-spec",
              "base_model": "base",
              "seeds": [1, 2],
              "recipe": {"lr": 5e-3, "betas": [0.9, 0.98], "schedule": "linear", "stop": "accuracy:1.0", "fixed_order": false},
              "stages": [
                {"name": "A", "data": "a.jsonl", "limit": 4,
                 "mix": [{"source": "random", "ratio": 2.0, "file": "words.txt", "prompt_words": 3, "target_words": 5}]},
                {"name": "B", "data": ["a.jsonl"], "replay": {"stage": "A", "fraction": 0.5}, "lora": {"rank": 2},
                 "regularizer": {"type": "kl", "strength": 0.1}, "recipe": {"epochs": 4}}
              ]
            }
            """;
        var fromJson = ExperimentSpec.Load(Write(dir, "spec.json", json));
        var fromYaml = ExperimentSpec.Load(Write(dir, "spec.yaml", """
            name: json-spec
            base_model: base
            seeds: [1, 2]
            recipe: {lr: 0.005, betas: [0.9, 0.98], schedule: linear, stop: "accuracy:1.0", fixed_order: false}
            stages:
              - name: A
                data: a.jsonl
                limit: 4
                mix: [{source: random, ratio: 2, file: words.txt, prompt_words: 3, target_words: 5}]
              - name: B
                data: [a.jsonl]
                replay: {stage: A, fraction: 0.5}
                lora: {rank: 2}
                regularizer: {type: kl, strength: 0.1}
                recipe: {epochs: 4}
            """));
        Assert.Equal((fromYaml.Name, fromYaml.BaseModel), (fromJson.Name, fromJson.BaseModel));
        Assert.Equal(fromYaml.Seeds, fromJson.Seeds);
        Assert.Equal(2, fromJson.Stages.Count);
        foreach (var (y, j) in fromYaml.Stages.Zip(fromJson.Stages))
        {
            Assert.Equal((y.Name, y.Limit, y.Replay, y.Regularizer, y.Recipe), (j.Name, j.Limit, j.Replay, j.Regularizer, j.Recipe));
            Assert.Equal(y.Data, j.Data);
            Assert.Equal(y.Mix, j.Mix);
            Assert.Equal((y.Lora?.Rank, y.Lora?.Alpha), (j.Lora?.Rank, j.Lora?.Alpha));
        }
        Assert.Equal(new MixSpec("random", 2.0, dir.File("words.txt"), 3, 5), fromJson.Stages[0].Mix[0]);
        Assert.Equal((0.005, ScheduleKind.Linear, 4), (fromJson.Stages[1].Recipe.LearningRate, fromJson.Stages[1].Recipe.Schedule, fromJson.Stages[1].Recipe.Epochs));
        // The run folder's config snapshot is the file as read.
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(fromJson.Json)), fromJson.Json);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(fromJson.Json), JsonNode.Parse(fromYaml.Json)), fromYaml.Json);

        var bad = Write(dir, "bad.json", "{\n  \"base_model\": \"base\",\n  \"stages\": [\n    {\"name\": \"A\", \"data\": \"a.jsonl\", \"recipe\": {\"lr\": \"fast\"}}\n  ]\n}\n");
        var r = Support.Cli.Run("run", "--config", bad, "--validate");
        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {bad}:4:55: stages[0].recipe.lr: expected a positive number, found \"fast\"{Environment.NewLine}", r.Err);
        var typo = Write(dir, "typo.json", "{\"base_model\": \"base\", \"stages\": [{\"name\": \"A\", \"data\": \"a.jsonl\", \"lmit\": 2}]}");
        Assert.Equal($"{typo}:1:68: stages[0].lmit: unknown key (did you mean 'limit'?)", Assert.Throws<InvalidInputException>(() => ExperimentSpec.Load(typo)).Message);
    }

    static string Write(TempDir dir, string name, string text)
    {
        File.WriteAllText(dir.File(name), text);
        return dir.File(name);
    }
}
