using Remix.Data.Bundled;
using Remix.Data;
using Remix.Experiments;
using Remix.Models;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

/// <summary>Each <c>remix train</c> option string gives the record its YAML gives in a spec, defaults and paths included.</summary>
public sealed class StageOptionsTests : IDisposable
{
    readonly TempDir _dir = new();

    public StageOptionsTests()
    {
        Directory.CreateDirectory(_dir.File("base"));
        ExampleJsonl.Write(_dir.File("a.jsonl"), KvrGenerator.Generate(3, 1, idPrefix: "a"));
        ExampleJsonl.Write(_dir.File("b.jsonl"), KvrGenerator.Generate(3, 2, idPrefix: "b"));
        ExampleJsonl.Write(_dir.File("corpus.jsonl"), [new Example { Id = "d0", Source = "c", Kind = ExampleKind.Document, Text = "one two three" }]);
        File.WriteAllLines(_dir.File("words.txt"), ["alpha", "bravo", "charlie"]);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>The last stage of a spec whose stage a (data a.jsonl) is followed by stage b (data b.jsonl) with <paramref name="keys"/>.</summary>
    StageSpec StageB(string keys)
    {
        var path = _dir.File("spec.yaml");
        File.WriteAllText(path, $"name: t\nbase_model: base\nstages:\n  - {{name: a, data: a.jsonl}}\n  - {{name: b, data: b.jsonl, {keys}}}\n");
        return ExperimentSpec.Load(path).Stages[1];
    }

    [Theory]
    [InlineData("random:2.0", null, "10+10", "{source: random, ratio: 2.0}")]
    [InlineData("random:0.5", "words.txt", "5+3", "{source: random, ratio: 0.5, file: words.txt, prompt_words: 5, target_words: 3}")]
    [InlineData("random:1", null, "0+1", "{source: random, ratio: 1, prompt_words: 0, target_words: 1}")]
    [InlineData("generic:CORPUS:1.5", null, "10+10", "{source: generic, ratio: 1.5, file: corpus.jsonl}")]
    [InlineData("generic:2", null, "10+10", "{source: generic, ratio: 2}")]
    public void MixOption_GivesTheRecordOfItsYaml(string option, string? words, string randomWords, string yaml)
    {
        var cli = StageOptions.Mix(option.Replace("CORPUS", _dir.File("corpus.jsonl")), words is null ? null : _dir.File(words), randomWords);
        Assert.Equal(StageB($"mix: [{yaml}]").Mix.Single(), cli);
    }

    [Fact]
    public void MixOption_WithoutAFile_TakesTheBundledFile_AsTheSpecDoes()
    {
        Assert.Equal(new MixSpec("random", 2.0, Path.GetFullPath(BundledPaths.Find(BundledPaths.WordList)), 10, 10), StageOptions.Mix("random:2.0"));
        Assert.Equal(new MixSpec("generic", 2.0, Path.GetFullPath(BundledPaths.Find(BundledPaths.GenericCorpus))), StageOptions.Mix("generic:2.0"));
    }

    [Fact]
    public void ReplayOption_IsTheYamlReplayOfTheEarlierStageItsFileHolds()
    {
        var (replay, file) = StageOptions.Replay(_dir.File("a.jsonl") + ":0.25");
        var yaml = StageB("replay: {stage: a, fraction: 0.25}");
        Assert.Equal(yaml.Replay, replay);
        Assert.Equal([file], ExperimentSpec.Load(_dir.File("spec.yaml")).Stages[0].Data.Select(d => d.File));
    }

    [Theory]
    [InlineData("l2", 0.5, "{type: l2, strength: 0.5}")]
    [InlineData("kl", 2.0, "{type: kl, strength: 2}")]
    public void PenaltyOptions_GiveTheRecordsOfTheirYaml(string type, double strength, string yaml) =>
        Assert.Equal(StageB($"regularizer: {yaml}").Regularizer, StageOptions.Penalty(type, strength));

    [Fact]
    public void PenaltyOptions_AtZero_AreOff() => Assert.Null(StageOptions.Penalty("l2", 0));

    [Fact]
    public void EwcOption_IsTheYamlEwc_EstimatedOnTheFileThatStandsForThePreviousStage()
    {
        var (regularizer, file) = StageOptions.Ewc("100:" + _dir.File("a.jsonl"));
        Assert.Equal(StageB("regularizer: {type: ewc, strength: 100}").Regularizer, regularizer);
        // The runner estimates a stage's Fisher on the previous stage's set: here stage a's, read from a.jsonl.
        Assert.Equal([file], ExperimentSpec.Load(_dir.File("spec.yaml")).Stages[0].Data.Select(d => d.File));
    }

    [Theory]
    [InlineData("4", null, "{rank: 4}")]
    [InlineData("8:16", "q_proj, k_proj", "{rank: 8, alpha: 16, targets: [q_proj, k_proj]}")]
    [InlineData("2:3.5", "v_proj", "{rank: 2, alpha: 3.5, targets: [v_proj]}")]
    public void LoraOption_GivesTheRecordOfItsYaml(string option, string? targets, string yaml)
    {
        var cli = StageOptions.Lora(option, targets);
        var spec = StageB($"lora: {yaml}").Lora!;
        // LoraSpec's Targets is a list, which a record compares by reference: compare the names themselves.
        Assert.Equal(spec with { Targets = [] }, cli with { Targets = [] });
        Assert.Equal(spec.Targets, cli.Targets);
    }

    [Theory]
    [InlineData("mix", "noise:2", "--mix: expected random:RATIO, generic:RATIO or generic:FILE:RATIO, found \"noise:2\"")]
    [InlineData("mix", "random", "--mix: expected random:RATIO, generic:RATIO or generic:FILE:RATIO, found \"random\"")]
    [InlineData("mix", "random:-1", "--mix: expected a non-negative ratio in \"random:-1\"")]
    [InlineData("mix", "random:Infinity", "--mix: expected a non-negative ratio in \"random:Infinity\"")]
    [InlineData("mix", "generic:missing.jsonl:1", "--mix: missing.jsonl: file not found")]
    [InlineData("words", "missing.txt", "--words: missing.txt: file not found")]
    [InlineData("random-words", "10", "--random-words: expected PROMPT+TARGET word counts such as 10+10, found \"10\"")]
    [InlineData("random-words", "5+0", "--random-words: expected PROMPT+TARGET word counts such as 10+10, found \"5+0\"")]
    [InlineData("replay", "a.jsonl", "--replay: expected FILE:FRACTION such as d_a.jsonl:0.1, found \"a.jsonl\"")]
    [InlineData("replay", "a.jsonl:-0.1", "--replay: expected FILE:FRACTION such as d_a.jsonl:0.1, found \"a.jsonl:-0.1\"")]
    [InlineData("replay", "missing.jsonl:0.1", "--replay: missing.jsonl: file not found")]
    [InlineData("ewc", "lots", "--ewc: expected STRENGTH:FILE such as 100:d_a.jsonl, found \"lots\"")]
    [InlineData("ewc", "10:", "--ewc: expected STRENGTH:FILE such as 100:d_a.jsonl, found \"10:\"")]
    [InlineData("ewc", "10:missing.jsonl", "--ewc: missing.jsonl: file not found")]
    [InlineData("l2", "-1", "--l2: expected a non-negative strength, found -1")]
    [InlineData("kl", "NaN", "--kl: expected a non-negative strength, found NaN")]
    [InlineData("lora", "0", "--lora: expected RANK[:ALPHA] such as 8:16, found \"0\"")]
    [InlineData("lora", "4:0", "--lora: expected RANK[:ALPHA] such as 8:16, found \"4:0\"")]
    [InlineData("lora", "4:8:2", "--lora: expected RANK[:ALPHA] such as 8:16, found \"4:8:2\"")]
    [InlineData("lora-targets", " , ", "--lora-targets: expected projection names such as q_proj,v_proj, found \" , \"")]
    public void BadOptionString_IsRefusedInOneLine_NamingTheOption(string option, string text, string message)
    {
        Action parse = option switch
        {
            "mix" => () => StageOptions.Mix(text),
            "words" => () => StageOptions.Mix("random:1", text),
            "random-words" => () => StageOptions.Mix("random:1", randomWords: text),
            "replay" => () => StageOptions.Replay(text),
            "ewc" => () => StageOptions.Ewc(text),
            "l2" or "kl" => () => StageOptions.Penalty(option, double.Parse(text, System.Globalization.CultureInfo.InvariantCulture)),
            "lora" => () => StageOptions.Lora(text),
            "lora-targets" => () => StageOptions.Lora("2", text),
            _ => throw new ArgumentException(option),
        };
        var e = Assert.Throws<InvalidInputException>(parse);
        Assert.Equal(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
