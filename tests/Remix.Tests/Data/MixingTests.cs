using Remix.Data;
using Remix.Data.Mixing;

namespace Remix.Tests.Data;

public class MixingTests
{
    static readonly string[] Words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];

    static List<Example> Facts(int n) => [.. Enumerable.Range(0, n).Select(i => Example.QuestionAnswer($"f{i}", "t", $"q{i}?", $"a{i}"))];

    [Fact]
    public void RandomWords_SplitPromptAndTarget_AndAreDeterministic()
    {
        var source = new RandomWordSource(Words, promptWords: 4, targetWords: 6);
        var a = source.Sample(20, seed: 5);
        Assert.Equal(a.Select(e => e.Target), source.Sample(20, 5).Select(e => e.Target));
        Assert.NotEqual(a.Select(e => e.Target), source.Sample(20, 6).Select(e => e.Target));
        foreach (var e in a)
        {
            Assert.StartsWith("Memorize the following random-string passage:\n", e.Question);
            Assert.Equal(4, e.Question.Split('\n')[1].Split(' ').Length);
            Assert.Equal(6, e.Target.Split(' ').Length);
            Assert.All(e.Target.Split(' '), w => Assert.Contains(w, Words));
            Assert.Equal(ExampleKind.Mix, e.Kind);
        }
    }

    [Fact]
    public void GenericPassages_Take50WordsThenThe50Next_AndSkipShortDocuments()
    {
        var words = Enumerable.Range(0, 120).Select(i => $"w{i}").ToArray();
        var corpus = new[]
        {
            new Example { Id = "long", Source = "c", Kind = ExampleKind.Document, Text = string.Join(' ', words) },
            new Example { Id = "short", Source = "c", Kind = ExampleKind.Document, Text = string.Join(' ', words[..99]) },
        };
        var source = new GenericPassageSource(corpus);
        Assert.Equal((1, 1), (source.UsableDocuments, source.SkippedShort));
        var e = source.Sample(3, seed: 1)[0];
        Assert.Equal("Complete the following partial passage:\n\n" + string.Join(' ', words[..50]), e.Question);
        Assert.Equal(string.Join(' ', words[50..100]), e.Target);
        Assert.Throws<InvalidInputException>(() => new GenericPassageSource([corpus[1]]));
    }

    [Fact]
    public void GenericPassages_UseEveryDocumentBeforeRepeating()
    {
        var corpus = Enumerable.Range(0, 5).Select(d => new Example
        {
            Id = $"d{d}", Source = "c", Kind = ExampleKind.Document,
            Text = string.Join(' ', Enumerable.Range(0, 100).Select(i => $"d{d}w{i}")),
        });
        var sample = new GenericPassageSource(corpus).Sample(10, seed: 2);
        Assert.Equal(5, sample.Take(5).Select(e => e.Target.Split('w')[0]).Distinct().Count());
    }

    [Theory]
    [InlineData(2.0, 100, 200)]
    [InlineData(1.0, 37, 37)]
    [InlineData(0.5, 5, 3)]
    [InlineData(0.0, 10, 0)]
    public void Mix_AddsRatioTimesTheDataSize(double ratio, int n, int extra)
    {
        var data = Facts(n);
        var mixed = DataMixer.Mix(data, [new MixingShare(new RandomWordSource(Words), ratio)], seed: 1);
        Assert.Equal(n + extra, mixed.Count);
        Assert.Equal(data, mixed.Take(n));
        Assert.Equal(extra, mixed.Count(e => e.Kind == ExampleKind.Mix));
    }

    [Fact]
    public void Replay_DrawsAFractionOfTheEarlierStage_WithoutRepeats()
    {
        var earlier = Facts(50);
        var mixed = DataMixer.Mix(Facts(10), [MixingShare.Replay(earlier, 0.1)], seed: 3);
        var replayed = mixed.Skip(10).ToList();
        Assert.Equal(5, replayed.Count);
        Assert.Equal(5, replayed.Distinct().Count());
        Assert.All(replayed, e => Assert.Contains(e, earlier));
        Assert.Equal(replayed, DataMixer.Mix(Facts(10), [MixingShare.Replay(earlier, 0.1)], seed: 3).Skip(10));
    }

    [Fact]
    public void TwoSources_AreBothDeterministic()
    {
        var corpus = new[] { new Example { Id = "d", Source = "c", Kind = ExampleKind.Document, Text = string.Join(' ', Enumerable.Range(0, 100)) } };
        List<MixingShare> Shares() => [new(new RandomWordSource(Words), 1.0), new(new GenericPassageSource(corpus), 1.0)];
        var a = DataMixer.Mix(Facts(8), Shares(), seed: 9);
        Assert.Equal(24, a.Count);
        Assert.Equal(a.Select(ExampleJsonl.ToJson), DataMixer.Mix(Facts(8), Shares(), seed: 9).Select(ExampleJsonl.ToJson));
    }
}
