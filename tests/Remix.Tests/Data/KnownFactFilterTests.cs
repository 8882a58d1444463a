using Remix.Checkpoints;
using Remix.Data;
using Remix.Evaluation;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Tokenization;

namespace Remix.Tests.Data;

public class KnownFactFilterTests
{
    [Fact]
    public void FactsWhoseAnswerIsTheModelsOwnPrediction_AreKnown()
    {
        using var dir = new TempDir();
        using (var model = TestModels.Create(TestModels.Config(), seed: 12))
        {
            HfCheckpoint.Save(model, dir.Path);
            ByteLevelTokenizerFiles.Write(dir.Path);
        }
        using var loaded = LoadedModel.Load(dir.Path);
        var questions = Enumerable.Range(0, 8).Select(i => $"question {i}?").ToList();
        var first = KnownFactFilter.Split(loaded, [.. questions.Select((q, i) => Example.QuestionAnswer($"f{i}", "t", q, "~~~~"))], maxNewTokens: 4);
        Assert.Empty(first.Known);
        // Facts whose answer is what the model said are known by construction; the others keep "~~~~".
        var facts = questions.Select((q, i) => Example.QuestionAnswer($"f{i}", "t", q, i % 2 == 0 ? first.Predictions[i].Prediction : "~~~~")).ToList();
        var split = KnownFactFilter.Split(loaded, facts, batchSize: 3, maxNewTokens: 4);
        Assert.Equal(["f0", "f2", "f4", "f6"], split.Known.Select(f => f.Id));
        Assert.Equal(["f1", "f3", "f5", "f7"], split.Unknown.Select(f => f.Id));
        Assert.Equal(first.Predictions.Select(p => p.Prediction), split.Predictions.Select(p => p.Prediction));
        Assert.Equal([true, false, true, false, true, false, true, false], split.Predictions.Select(p => p.Correct));
    }
}
