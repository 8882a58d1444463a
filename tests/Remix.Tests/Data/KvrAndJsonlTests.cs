using Remix.Data;
using Remix.Tests.Support;

namespace Remix.Tests.Data;

public class KvrAndJsonlTests
{
    [Fact]
    public void Kvr_IsDeterministic_WellFormed_AndDisjoint()
    {
        var (a, b) = KvrGenerator.GeneratePair(200, 100, seed: 3);
        var (a2, b2) = KvrGenerator.GeneratePair(200, 100, seed: 3);
        Assert.Equal(a.Select(ExampleJsonl.ToJson), a2.Select(ExampleJsonl.ToJson));
        Assert.Equal(b.Select(ExampleJsonl.ToJson), b2.Select(ExampleJsonl.ToJson));
        Assert.NotEqual(a.Select(e => e.Subject), KvrGenerator.Generate(200, 4).Select(e => e.Subject));
        foreach (var e in a.Concat(b))
        {
            Assert.Matches("^[a-z0-9]{8}$", e.Subject!);
            Assert.Matches("^[a-z0-9]{8}$", e.Target);
            Assert.Equal($"The value of key {e.Subject} is?", e.Question);
            Assert.Equal([e.Target], e.Answers);
        }
        var strings = a.Concat(b).SelectMany(e => new[] { e.Subject!, e.Target }).ToList();
        Assert.Equal(strings.Count, strings.Distinct().Count()); // keys and values never repeat, within or across sets
    }

    [Fact]
    public void RemixJsonl_RoundTripsEveryField()
    {
        using var dir = new TempDir();
        var examples = new List<Example>
        {
            Example.QuestionAnswer("f1", "src", "Q \"quoted\" <tag>?", "A", ["alias"]) with { Subject = "S", Relation = "R", Match = AnswerMatch.PredictionInGold },
            Example.QuestionAnswer("n1", "src", "Solve", "Work\n#### 3", kind: ExampleKind.NonFactoid),
            new() { Id = "d1", Source = "corpus", Kind = ExampleKind.Document, Text = "Some text." },
            new() { Id = "c1", Source = "chat", Kind = ExampleKind.NonFactoid, Turns = [ChatTurn.User("a"), ChatTurn.Assistant("b"), ChatTurn.User("c"), ChatTurn.Assistant("d")] },
        };
        ExampleJsonl.Write(dir.File("x.jsonl"), examples);
        var read = DatasetReader.Read(dir.File("x.jsonl"));
        Assert.Equal("remix", read.Format);
        Assert.Equal(examples.Select(ExampleJsonl.ToJson), read.Examples.Select(ExampleJsonl.ToJson));
        Assert.Equal(["A", "alias"], read.Examples[0].Answers);
        Assert.Equal(AnswerMatch.PredictionInGold, read.Examples[0].Match);
        Assert.Equal(4, read.Examples[3].Turns.Count);
    }
}
