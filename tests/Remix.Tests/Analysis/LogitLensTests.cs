using Remix.Analysis;
using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Data;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Tokenization;
using static TorchSharp.torch;

namespace Remix.Tests.Analysis;

public class LogitLensTests
{
    static readonly List<Example> Facts =
    [
        Example.QuestionAnswer("f1", "test", "Which city?", "Paris"),
        Example.QuestionAnswer("f2", "test", "And the longer question, which country?", "Peru"),
        Example.QuestionAnswer("f3", "test", "Who?", "Pat"),
    ];

    /// <summary>
    /// A model whose decoder layers write nothing to the residual stream except layer
    /// <paramref name="writer"/> (0-based), whose attention output bias adds a large multiple of the
    /// embedding of byte 'P' at every position. By construction the lens makes 'P' — every fact's
    /// first answer token — top-1 exactly from layer point writer + 1 on, and never before.
    /// </summary>
    static string ModelDecodableFrom(TempDir dir, string name, int layers, int writer)
    {
        var path = dir.File(name);
        using var model = TestModels.Create(TestModels.Config(hidden: 32, layers: layers, attentionBias: true), seed: 4);
        using (no_grad())
        {
            var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
            var gold = p["model.embed_tokens.weight"][(long)'P' + ByteLevelOffset()];
            for (int l = 0; l < layers; l++)
            {
                p[$"model.layers.{l}.self_attn.o_proj.weight"].zero_();
                p[$"model.layers.{l}.mlp.down_proj.weight"].zero_();
                var bias = p[$"model.layers.{l}.self_attn.o_proj.bias"];
                if (l == writer) bias.copy_(gold * 100); else bias.zero_();
            }
        }
        HfCheckpoint.Save(model, path);
        ByteLevelTokenizerFiles.Write(path);
        return path;
    }

    /// <summary>The byte-level tokenizer's id of byte 0 (bytes follow the special tokens or precede them).</summary>
    static int ByteLevelOffset()
    {
        using var dir = new TempDir();
        ByteLevelTokenizerFiles.Write(dir.Path);
        using var tok = HfTokenizer.Load(dir.Path);
        return tok.Encode("P", addSpecialTokens: false)[0] - 'P';
    }

    [Fact]
    public void AFactWrittenIntoTheResidualAtLayerK_IsDecodableFromLayerK()
    {
        using var dir = new TempDir();
        using var loaded = LoadedModel.Load(ModelDecodableFrom(dir, "m", layers: 4, writer: 1));
        var result = new LogitLens(loaded) { BatchSize = 2 }.Analyze("m", Facts);

        Assert.Equal(4, result.Layers);
        Assert.Equal(3, result.Facts.Count);
        Assert.All(result.Facts, f => Assert.Equal("P", f.GoldText));
        Assert.All(result.Facts, f => Assert.Equal(2, f.EarliestTop1));
        Assert.All(result.Facts, f => Assert.Equal([false, false, true, true, true], f.Rank.Select(r => r == 0)));
        Assert.Equal([0.0, 0.0, 1.0, 1.0, 1.0], Enumerable.Range(0, result.Points).Select(result.DecodableFraction));
        Assert.Equal((2.0, 0.0, 0), result.EarliestTop1);
        // Before layer 2 nothing is written, so the lens sees the same residual (the embedding) at points 0 and 1.
        Assert.All(result.Facts, f => Assert.Equal(f.Probability[0], f.Probability[1], tolerance: 1e-12));
    }

    [Fact]
    public void LensAtTheLastLayer_IsTheModelsOwnNextTokenDistribution_ForPromptsOfDifferentLengthsInOneBatch()
    {
        using var dir = new TempDir();
        var path = dir.File("random");
        using (var model = TestModels.Create(TestModels.Config(hidden: 32, layers: 3), seed: 7)) HfCheckpoint.Save(model, path);
        ByteLevelTokenizerFiles.Write(path);
        using var loaded = LoadedModel.Load(path);
        var result = new LogitLens(loaded).Analyze("random", Facts);

        var encoder = new ExampleEncoder(loaded.Tokenizer);
        int vocab = loaded.Model.Config.VocabSize;
        for (int i = 0; i < Facts.Count; i++)
        {
            var encoded = encoder.Encode(Facts[i]);
            int first = Array.FindIndex(encoded.Labels, l => l != EncodedExample.IgnoreIndex);
            var logits = TestModels.Logits(loaded.Model, [.. encoded.InputIds[..first].Select(t => (long)t)]);
            var last = logits.AsSpan((first - 1) * vocab, vocab).ToArray().Select(v => (double)v).ToArray();
            double max = last.Max(), sum = last.Sum(v => Math.Exp(v - max));
            int gold = encoded.Labels[first];
            Assert.Equal(Math.Exp(last[gold] - max) / sum, result.Facts[i].Probability[^1], tolerance: 1e-7);
            Assert.Equal(last.Count(v => v > last[gold]), result.Facts[i].Rank[^1]);
        }
    }

    [Fact]
    public void SpreadOfTheEarliestLayer_CountsFactsThatNeverGetThere()
    {
        var result = new LensResult("m", 2, 0.5,
        [
            new LensFact("a", "q", 1, "x", [3, 0, 0], [0.1, 0.6, 0.9]),
            new LensFact("b", "q", 1, "x", [2, 1, 0], [0.1, 0.2, 0.4]),
            new LensFact("c", "q", 1, "x", [2, 1, 1], [0.1, 0.2, 0.3]),
        ]);
        Assert.Equal((1.5, 0.5, 1), result.EarliestTop1);
        Assert.Equal((1.0, 0.0, 2), result.EarliestAboveThreshold);
        Assert.Equal(2.0 / 3, result.DecodableFraction(2), tolerance: 1e-12);
        Assert.Equal(1.0 / 3, result.MeanProbability(1), tolerance: 1e-12);
    }

    [Fact]
    public void Cli_ComparesTwoModelsSideBySide_AndWritesCsvsSummaryAndPlots()
    {
        using var dir = new TempDir();
        var early = ModelDecodableFrom(dir, Path.Combine("runs", "early", "final"), layers: 3, writer: 0);
        var late = ModelDecodableFrom(dir, Path.Combine("runs", "late", "final"), layers: 3, writer: 2);
        var facts = dir.File("facts.jsonl");
        ExampleJsonl.Write(facts, Facts);

        var run = Support.Cli.Run("analyze", "logit-lens", "--model", early, "--model", late, "--data", facts, "--out", dir.File("lens"));
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("| layer | early top-1 | early p(gold) | late top-1 | late p(gold) |", run.Out);
        Assert.Contains("| earliest top-1 layer (mean ± sd; never) | 1.00 ± 0.00; 0 | | 3.00 ± 0.00; 0 | |", run.Out);
        Assert.Matches(@"\| 2 \| 100 % \| [0-9.]+ \| 0 % \|", run.Out);

        var csv = File.ReadAllLines(Path.Combine(dir.File("lens"), "late.csv"));
        Assert.Equal("id,gold_token,gold_text,earliest_top1,earliest_p_at_least_0.5,rank_0,rank_1,rank_2,rank_3,prob_0,prob_1,prob_2,prob_3", csv[0]);
        Assert.Equal(4, csv.Length);
        Assert.StartsWith("f1,", csv[1]);
        Assert.Equal("3", csv[1].Split(',')[3]);
        foreach (var png in new[] { "decodable-by-layer.png", "early-heatmap.png", "late-heatmap.png" })
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(dir.File("lens"), png))[..4]);
        Assert.True(File.Exists(Path.Combine(dir.File("lens"), "summary.json")));
    }

    [Fact]
    public void Cli_RefusesAMismatchedNameList()
    {
        using var dir = new TempDir();
        var m = ModelDecodableFrom(dir, "m", layers: 2, writer: 0);
        var facts = dir.File("facts.jsonl");
        ExampleJsonl.Write(facts, Facts);
        var run = Support.Cli.Run("analyze", "logit-lens", "--model", m, "--name", "a", "--name", "b", "--data", facts, "--out", dir.File("lens"));
        Assert.Equal(1, run.Code);
        Assert.Contains("--name", run.Err);
        Assert.Contains("one name per --model (1), found 2", run.Err);
    }
}
