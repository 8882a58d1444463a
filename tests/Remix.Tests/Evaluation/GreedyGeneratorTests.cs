using Remix.Evaluation;
using Remix.Models;
using Remix.Tests.Support;
using static TorchSharp.torch;

namespace Remix.Tests.Evaluation;

public class GreedyGeneratorTests
{
    static readonly int[][] Prompts = [[256, 72, 105], [256, 10, 20, 30, 40, 50, 60, 70], [256], [256, 5, 5, 5, 5, 5]];

    /// <summary>Greedy decoding the slow, obvious way: a full forward pass over the whole sequence per token.</summary>
    static int[] FullForwardArgmax(LlamaForCausalLM model, int[] prompt, int steps)
    {
        var ids = prompt.Select(i => (long)i).ToList();
        using var noGrad = no_grad();
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            var logits = model.Forward(tensor(ids.ToArray(), [1, ids.Count], ScalarType.Int64));
            ids.Add(logits[0, -1].argmax().item<long>());
        }
        return ids.Skip(prompt.Length).Select(i => (int)i).ToArray();
    }

    public static TheoryData<string, int?> Models => new() { { "llama", null }, { "qwen2", null }, { "mistral", 4 } };

    [Theory]
    [MemberData(nameof(Models))]
    public void Generate_WithCache_EqualsFullForwardArgmax(string type, int? window)
    {
        using var model = TestModels.Create(TestModels.Config(type, slidingWindow: window), seed: 21);
        var generator = new GreedyGenerator(model);
        foreach (var prompt in Prompts)
        {
            var expected = FullForwardArgmax(model, prompt, 12);
            Assert.True(expected.Distinct().Count() > 3, "the micro model should not be degenerate");
            Assert.Equal(expected, generator.Generate([prompt], 12, [], useCache: true)[0].Tokens);
            Assert.Equal(expected, generator.Generate([prompt], 12, [], useCache: false)[0].Tokens);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchOfDifferentLengths_EqualsEachPromptAlone(bool useCache)
    {
        using var model = TestModels.Create(TestModels.Config(kvHeads: 1), seed: 8);
        var generator = new GreedyGenerator(model);
        var batch = generator.Generate(Prompts, 10, [], useCache);
        for (int i = 0; i < Prompts.Length; i++)
            Assert.Equal(generator.Generate([Prompts[i]], 10, [], useCache)[0].Tokens, batch[i].Tokens);
    }

    [Fact]
    public void EachSequence_StopsAtItsOwnStopToken()
    {
        using var model = TestModels.Create(TestModels.Config(), seed: 8);
        var generator = new GreedyGenerator(model);
        var free = generator.Generate(Prompts, 10, []);
        int stop = free[1].Tokens[3]; // the fourth token of the second prompt becomes a stop token
        var stopped = generator.Generate(Prompts, 10, [stop]);
        for (int i = 0; i < Prompts.Length; i++)
        {
            int first = Array.IndexOf(free[i].Tokens, stop);
            var expected = first < 0 ? free[i].Tokens : free[i].Tokens[..(first + 1)];
            Assert.Equal(expected, stopped[i].Tokens);
            Assert.Equal(first >= 0, stopped[i].Stopped);
        }
        Assert.Equal(4, stopped[1].Tokens.Length);
        Assert.Equal(free[1].Tokens[..3], stopped[1].Content);
    }

    [Fact]
    public void MaxNewTokens_BoundsTheOutput()
    {
        using var model = TestModels.Create(TestModels.Config(), seed: 8);
        var generator = new GreedyGenerator(model);
        Assert.All(generator.Generate(Prompts, 3, []), s => Assert.Equal(3, s.Tokens.Length));
        Assert.All(generator.Generate(Prompts, 0, []), s => Assert.Empty(s.Tokens));
    }

    [Fact]
    public void TokenOutsideVocabulary_IsRefused()
    {
        using var model = TestModels.Create(TestModels.Config(), seed: 8);
        var e = Assert.Throws<ArgumentException>(() => new GreedyGenerator(model).Generate([[256, 999]], 3, []));
        Assert.Contains("token id 999 is outside the model's vocabulary", e.Message);
    }
}
