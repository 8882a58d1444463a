using System.Text;
using Remix.Data;
using Remix.Data.Batching;
using Remix.Tests.Support;
using Remix.Tokenization;

namespace Remix.Tests.Data;

public class BatchingTests : IDisposable
{
    readonly TempDir _dir = new();
    readonly HfTokenizer _tokenizer;

    public BatchingTests()
    {
        ByteLevelTokenizerFiles.Write(_dir.Path);
        _tokenizer = HfTokenizer.Load(_dir.Path);
    }

    public void Dispose()
    {
        _tokenizer.Dispose();
        _dir.Dispose();
    }

    static int[] Bytes(string s) => [.. Encoding.UTF8.GetBytes(s).Select(b => (int)b)];

    [Fact]
    public void Encode_MasksPromptAndTrainsAnswerAndEos_TokenByToken()
    {
        var encoder = new ExampleEncoder(_tokenizer);
        var e = encoder.Encode(Example.QuestionAnswer("x", "t", "Q?", "Ab"));
        var prompt = Bytes("<|user|>\nQ?\n<|assistant|>\n");
        Assert.Equal([256, .. prompt, 'A', 'b', 257], e.InputIds);
        Assert.Equal([.. Enumerable.Repeat(-100, 1 + prompt.Length), 'A', 'b', 257], e.Labels);
        Assert.Equal(3, e.LabelCount);
        Assert.Equal(e.InputIds[..(1 + prompt.Length)], encoder.EncodePrompt("Q?"));
    }

    [Fact]
    public void Encode_MultiTurn_TrainsEveryAssistantTurn_WithOneBos()
    {
        var encoder = new ExampleEncoder(_tokenizer);
        var example = new Example { Id = "c", Source = "t", Kind = ExampleKind.NonFactoid, Turns = [ChatTurn.User("a"), ChatTurn.Assistant("b"), ChatTurn.User("c"), ChatTurn.Assistant("d")] };
        var e = encoder.Encode(example);
        int[] first = [256, .. Bytes("<|user|>\na\n<|assistant|>\n")], second = Bytes("<|user|>\nc\n<|assistant|>\n");
        Assert.Equal([.. first, 'b', 257, .. second, 'd', 257], e.InputIds);
        Assert.Equal([.. first.Select(_ => -100), 'b', 257, .. second.Select(_ => -100), 'd', 257], e.Labels);
        // Evaluation continues the conversation: the target "d" answers "c" after the first exchange.
        Assert.Equal([.. first, 'b', 257, .. second], encoder.EncodeContext(example));
        Assert.Equal("c", example.TargetQuestion);
        Assert.Equal(encoder.EncodePrompt("Q?"), encoder.EncodeContext(Example.QuestionAnswer("x", "t", "Q?", "Ab")));
    }

    [Fact]
    public void EncodeAll_DropsOverLengthExamples_AndNamesThem()
    {
        var encoder = new ExampleEncoder(_tokenizer, maxLength: 40);
        var result = encoder.EncodeAll([Example.QuestionAnswer("short", "t", "Q?", "A"), Example.QuestionAnswer("long", "t", new string('x', 30), "A")]);
        Assert.Equal(["short"], result.Examples.Select(e => e.Id));
        Assert.Equal(["long"], result.DroppedTooLong);
    }

    [Fact]
    public void PaddedBatch_PadsRightToTheLongest_WithIgnoredLabels()
    {
        var a = new EncodedExample("a", [1, 2, 3], [-100, 2, 3]);
        var b = new EncodedExample("b", [4], [4]);
        var batch = PaddedBatch.From([a, b], padId: 9);
        Assert.Equal((2, 3), (batch.Size, batch.Width));
        Assert.Equal([1L, 2, 3, 4, 9, 9], batch.InputIds);
        Assert.Equal([-100L, 2, 3, 4, -100, -100], batch.Labels);
        Assert.Equal([1L, 1, 1, 1, 0, 0], batch.AttentionMask);
        Assert.Equal(4, batch.TokenCount);
    }

    static List<EncodedExample> Examples(int n) =>
        [.. Enumerable.Range(0, n).Select(i => new EncodedExample($"e{i}", new int[1 + (i * 37) % 50], new int[1 + (i * 37) % 50]))];

    [Fact]
    public void BatchPlan_CoversEveryExampleOnce_AndIsDeterministicPerSeed()
    {
        var examples = Examples(103);
        foreach (var grouped in new[] { false, true })
        {
            var plan = BatchPlanner.Plan(examples, 8, shuffleSeed: 1, groupByLength: grouped);
            Assert.Equal(Enumerable.Range(0, 103), plan.SelectMany(b => b).Order());
            Assert.Equal(plan.Select(b => string.Join(',', b)), BatchPlanner.Plan(examples, 8, 1, grouped).Select(b => string.Join(',', b)));
            Assert.NotEqual(plan.Select(b => string.Join(',', b)), BatchPlanner.Plan(examples, 8, 2, grouped).Select(b => string.Join(',', b)));
        }
        Assert.Equal(Enumerable.Range(0, 103), BatchPlanner.Plan(examples, 8, shuffleSeed: null).SelectMany(b => b)); // file order
    }

    [Fact]
    public void LengthGrouping_ReducesPadding()
    {
        var examples = Examples(400);
        long Padding(List<int[]> plan) => plan.Sum(b => (long)b.Max(i => examples[i].Length) * b.Length - b.Sum(i => examples[i].Length));
        Assert.True(Padding(BatchPlanner.Plan(examples, 8, 1, groupByLength: true)) * 5 < Padding(BatchPlanner.Plan(examples, 8, 1)));
    }
}
