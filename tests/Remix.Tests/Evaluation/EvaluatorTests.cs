using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Data;
using Remix.Evaluation;
using Remix.Models.Kernels;
using Remix.Models;
using Remix.Runtime;
using Remix.Tests.Support;
using Remix.Tokenization;

namespace Remix.Tests.Evaluation;

public class EvaluatorTests
{
    /// <summary>Answer-token accuracy and gold log-probability from each example's own full forward pass, by hand.</summary>
    static (double TokenAccuracy, double LogProb) ByHand(LlamaForCausalLM model, EncodedExample encoded, int vocab)
    {
        var logits = TestModels.Logits(model, [.. encoded.InputIds.Select(i => (long)i)]);
        int hits = 0, tokens = 0;
        double logProb = 0;
        for (int t = 0; t + 1 < encoded.Length; t++)
        {
            int gold = encoded.Labels[t + 1];
            if (gold == EncodedExample.IgnoreIndex) continue;
            var row = logits.AsSpan(t * vocab, vocab).ToArray().Select(v => (double)v).ToArray();
            double max = row.Max(), logSum = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
            logProb += row[gold] - logSum;
            if (Array.IndexOf(row, max) == gold) hits++;
            tokens++;
        }
        return ((double)hits / tokens, logProb / tokens);
    }

    static LoadedModel RandomModel(TempDir dir, KernelChoice kernels = KernelChoice.Auto)
    {
        using (var model = TestModels.Create(TestModels.Config(hidden: 32, layers: 2), seed: 3)) HfCheckpoint.Save(model, dir.Path);
        ByteLevelTokenizerFiles.Write(dir.Path);
        return LoadedModel.Load(dir.Path, kernels: kernels);
    }

    /// <summary>Packed where the model packs (auto kernels on this CPU), padded rows under reference.</summary>
    [Theory]
    [InlineData(KernelChoice.Auto)]
    [InlineData(KernelChoice.Reference)]
    public void TeacherForcedScores_InABatch_EqualEachExampleScoredAloneByHand(KernelChoice kernels)
    {
        using var dir = new TempDir();
        using var loaded = RandomModel(dir, kernels);
        Assert.Equal(kernels == KernelChoice.Auto && CpuCausalAttention.SupportsHeadDim(loaded.Model.Config.HeadDim), loaded.Model.PacksSequences);
        // Different answer lengths, so the batch is padded.
        var facts = KvrGenerator.Generate(5, seed: 9).Select((e, i) => i % 2 == 0 ? e : e with
        {
            Turns = [e.Turns[0], new ChatTurn(ChatRole.Assistant, e.Target + " and more")], Answers = [e.Target + " and more"],
        }).ToList();
        var result = new Evaluator(loaded) { BatchSize = 5, Margin = 2, MaxNewTokens = 2 }.Evaluate("facts", facts);

        var encoder = new ExampleEncoder(loaded.Tokenizer);
        for (int i = 0; i < facts.Count; i++)
        {
            var (accuracy, logProb) = ByHand(loaded.Model, encoder.Encode(facts[i]), 259);
            Assert.Equal(accuracy, result.Predictions[i].TokenAccuracy, tolerance: 1e-12);
            Assert.Equal(logProb, result.Predictions[i].GoldLogProb, tolerance: 1e-5);
        }
        Assert.Equal(result.Predictions.Average(p => p.GoldLogProb), result.GoldLogProb, tolerance: 1e-12);
        Assert.True(result.GoldLogProb < 0);
    }

    [Fact]
    public void TeacherForcedScores_AreSkippedWhenTurnedOff()
    {
        using var dir = new TempDir();
        using var loaded = RandomModel(dir);
        var result = new Evaluator(loaded) { Margin = 1, MaxNewTokens = 1, TeacherForced = false }.Evaluate("facts", KvrGenerator.Generate(3, seed: 9));
        Assert.True(double.IsNaN(result.TokenAccuracy));
        Assert.True(double.IsNaN(result.GoldLogProb));
    }
}
