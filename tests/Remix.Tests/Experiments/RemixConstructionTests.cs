using Remix.Data;
using Remix.Data.Batching;
using Remix.Data.Bundled;
using Remix.Data.Mixing;
using Remix.Experiments;
using Remix.Tokenization;

namespace Remix.Tests.Experiments;

/// <summary>
/// Our REMIX is the paper's REMIX: the examples a stage really trains on (as the runner builds them from the demo's spec
/// files) are its own set, then round(r x |D|) extra examples with the paper's prompts and word counts, drawn for each
/// stage and seed; and they are trained like the facts, loss on the target and EOS only.
/// </summary>
public class RemixConstructionTests
{
    static ExperimentSpec Demo(string name) => DemoExperiment.Conditions(quick: false).Single(c => c.Name == name);

    static List<Example> TrainingSet(ExperimentSpec spec, int stage, int runSeed)
    {
        var sets = spec.Stages.Select(s => s.ReadSet()).ToList();
        var s = spec.Stages[stage];
        return new ExperimentRunner(spec).TrainingSet(s, stage, sets, Seeds.Stage(s.Recipe.Seed, runSeed));
    }

    static ExperimentSpec WithStageMix(ExperimentSpec spec, int stage, params MixSpec[] mix) =>
        spec with { Stages = [.. spec.Stages.Select((s, i) => i == stage ? s with { Mix = mix } : s)] };

    static string[] Words(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void ThePromptsAreThePapersWords()
    {
        Assert.Equal("Memorize the following random-string passage:", RandomWordSource.Instruction);
        Assert.Equal("Complete the following partial passage:\n\n", GenericPassageSource.Instruction);
    }

    [Theory]
    [InlineData(1.0, 10, 10)] // the demo's
    [InlineData(2.0, 10, 10)] // the paper's default ratio
    [InlineData(4.0, 10, 10)]
    [InlineData(2.0, 5, 5)]
    [InlineData(2.0, 25, 25)]
    public void RandomWordsInStage1_AreRTimesTheSet_OfUniformWordsFromTheList(double ratio, int promptWords, int targetWords)
    {
        var spec = Demo("remix-random-stage1");
        var mix = spec.Stages[0].Mix.Single() with { Ratio = ratio, PromptWords = promptWords, TargetWords = targetWords };
        spec = WithStageMix(spec, 0, mix);
        var own = spec.Stages[0].ReadSet();
        var set = TrainingSet(spec, 0, runSeed: 0);

        int extra = (int)Math.Round(ratio * own.Count);
        Assert.Equal(own.Count + extra, set.Count);
        Assert.Equal(own.Select(e => e.Id), set.Take(own.Count).Select(e => e.Id));
        var list = RandomWordSource.LoadWordList(BundledPaths.Find(BundledPaths.WordList)).ToHashSet(StringComparer.Ordinal);
        var drawn = new List<string>();
        foreach (var example in set.Skip(own.Count))
        {
            Assert.Equal(ExampleKind.Mix, example.Kind);
            var (prompt, target) = (example.Turns[0].Content, example.Turns[1].Content);
            Assert.StartsWith(RandomWordSource.Instruction + "\n", prompt);
            var shown = Words(prompt[(RandomWordSource.Instruction.Length + 1)..]);
            var memorized = Words(target);
            Assert.Equal(promptWords, shown.Length);
            Assert.Equal(targetWords, memorized.Length);
            Assert.All(shown.Concat(memorized), w => Assert.Contains(w, list));
            drawn.AddRange(shown.Concat(memorized));
        }
        // Uniform draws with replacement from 60k words: almost no word twice, and no sequence twice.
        Assert.True(drawn.Distinct().Count() > 0.9 * drawn.Count, $"{drawn.Distinct().Count()} distinct of {drawn.Count}");
        Assert.Equal(extra, set.Skip(own.Count).Select(e => e.Turns[1].Content).Distinct().Count());
    }

    [Fact]
    public void GenericTextInStage2_IsWords0To49ThenWords50To99_OfCorpusDocumentsOfAtLeast100Words_EachOnce()
    {
        var spec = Demo("remix-generic-stage2");
        var own = spec.Stages[1].ReadSet();
        var set = TrainingSet(spec, 1, runSeed: 0);
        int extra = (int)Math.Round(spec.Stages[1].Mix.Single().Ratio * own.Count);
        Assert.Equal(own.Count + extra, set.Count);

        var documents = DatasetReader.Read(BundledPaths.Find(BundledPaths.GenericCorpus)).Examples.Select(d => Words(d.Text ?? "")).Where(w => w.Length >= 100)
            .GroupBy(w => string.Join(' ', w[..100])).ToDictionary(g => g.Key, g => g.Count());
        var used = new List<string>();
        foreach (var example in set.Skip(own.Count))
        {
            var (prompt, target) = (example.Turns[0].Content, example.Turns[1].Content);
            Assert.StartsWith(GenericPassageSource.Instruction, prompt);
            var first = Words(prompt[GenericPassageSource.Instruction.Length..]);
            var next = Words(target);
            Assert.Equal(50, first.Length);
            Assert.Equal(50, next.Length);
            var passage = string.Join(' ', first.Concat(next));
            Assert.True(documents.ContainsKey(passage), $"not the first 100 words of a corpus document: {passage[..60]}...");
            used.Add(passage);
        }
        Assert.All(used.GroupBy(p => p), g => Assert.True(g.Count() <= documents[g.Key], "a document drawn twice in one stage"));
    }

    [Fact]
    public void MixedExamples_AreDrawnForEachStageAndSeed_TheSameWhenRunAgain()
    {
        var spec = Demo("remix-both");
        var mix = spec.Stages[0].Mix.Single();
        // Random words in both stages, to compare the two stages' draws from one source.
        var both = WithStageMix(spec, 1, mix);
        int n = spec.Stages[0].ReadSet().Count;
        List<string> Targets(ExperimentSpec s, int stage, int seed) =>
            [.. TrainingSet(s, stage, seed).Where(e => e.Kind == ExampleKind.Mix).Select(e => e.Turns[1].Content)];

        Assert.Equal(Targets(spec, 0, 0), Targets(spec, 0, 0));
        Assert.Empty(Targets(spec, 0, 0).Intersect(Targets(spec, 0, 1)));
        Assert.Empty(Targets(both, 0, 0).Intersect(Targets(both, 1, 0)));
        Assert.NotEqual(Targets(spec, 1, 0), Targets(spec, 1, 1)); // generic passages: another order of the same corpus
        Assert.Equal(n, Targets(spec, 0, 0).Count);
    }

    [Fact]
    public void AMixedExample_IsTrainedLikeAFact_LossOnItsTargetAndEosOnly()
    {
        var spec = Demo("remix-random-stage1");
        var example = TrainingSet(spec, 0, runSeed: 0).First(e => e.Kind == ExampleKind.Mix);
        using var tokenizer = HfTokenizer.Load(BundledPaths.Resolve("models/remix-tiny"));
        var encoded = new ExampleEncoder(tokenizer).Encode(example);
        var trained = encoded.Labels.Where(l => l != EncodedExample.IgnoreIndex).ToList();
        Assert.Equal(tokenizer.EosTokenId, trained[^1]);
        Assert.Equal(example.Turns[1].Content, tokenizer.Decode(trained[..^1]));
        var prompt = encoded.InputIds.Take(encoded.Labels.TakeWhile(l => l == EncodedExample.IgnoreIndex).Count()).ToList();
        Assert.Equal(new ExampleEncoder(tokenizer).EncodePrompt(example.Turns[0].Content), prompt);
        Assert.Equal("<|user|>\n" + example.Turns[0].Content + "\n<|assistant|>\n", tokenizer.Decode(prompt.Skip(1).ToList()));
    }
}
