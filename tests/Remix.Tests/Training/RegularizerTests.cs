using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Data;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Tokenization;
using Remix.Training;
using static TorchSharp.torch;

namespace Remix.Tests.Training;

public class RegularizerTests
{
    static readonly long[] Ids = [256, 10, 20, 30, 40, 50, 60];
    static readonly long[] Labels = [-100, -100, -100, 30, 40, -100, 60];

    static void Nudge(LlamaForCausalLM model, string name, long index, double delta)
    {
        using var noGrad = no_grad();
        var flat = model.named_parameters().First(p => p.name == name).parameter.view(-1);
        flat[index] = flat[index].item<float>() + (float)delta;
    }

    [Fact]
    public void L2_IsHalfLambdaTimesTheSquaredDistance()
    {
        using var model = TestModels.Create(TestModels.Config(), seed: 2);
        using var l2 = new L2Regularizer(model) { Strength = 4.0 };
        Assert.Equal(0, l2.ParameterPenalty(model)!.item<float>());
        Nudge(model, "model.norm.weight", 3, 0.5);
        Nudge(model, "model.layers.1.mlp.up_proj.weight", 7, -0.25);
        Assert.Equal(4.0 / 2 * (0.25 + 0.0625), l2.ParameterPenalty(model)!.item<float>(), tolerance: 1e-6);
    }

    [Theory]
    [InlineData("l2")]
    [InlineData("ewc")]
    public void WeightAnchoredRegularizers_AreRefusedWithLora(string type)
    {
        using var dir = new TempDir();
        RandomCheckpoint.Write(dir.File("base"), TestModels.Config(), seed: 2);
        using var loaded = LoadedModel.Load(dir.File("base"));
        Lora.Attach(loaded.Model, rank: 2, alpha: 4);
        var e = Assert.Throws<InvalidInputException>(() => Regularizer.Create(type, 1.0, loaded, dir.File("base"), KvrGenerator.Generate(2, 1), 64));
        Assert.Contains($"{type} cannot be combined with LoRA", e.Message);
        if (type == "l2") Assert.Throws<InvalidInputException>(() => new L2Regularizer(loaded.Model)); // refused by the class itself
        using var kl = Regularizer.Create("kl", 1.0, loaded, dir.File("base"), [], 64); // compares outputs: fine with adapters
        Assert.Equal("kl", kl.Name);
    }

    [Fact]
    public void Ewc_FisherIsTheMeanSquaredPerExampleGradient_AndWeightsThePenalty()
    {
        using var model = TestModels.Create(TestModels.Config(), seed: 2);
        var data = new[]
        {
            new EncodedExample("a", [.. Ids.Select(i => (int)i)], [.. Labels.Select(i => (int)i)]),
            new EncodedExample("b", [256, 5, 6, 7], [-100, -100, 6, 7]),
        };
        // The expected Fisher entry, by hand: mean over the two examples of (d mean-token-NLL / dθ)².
        const string name = "model.layers.0.self_attn.k_proj.weight";
        const long index = 17;
        double expected = 0;
        foreach (var e in data)
        {
            var p = model.named_parameters().First(x => x.name == name).parameter;
            p.grad?.zero_();
            using var scope = NewDisposeScope();
            var batch = PaddedBatch.From([e], 0);
            var (ids, labels) = batch.ToTensors(CPU);
            var (sum, tokens) = CausalLmLoss.Sum(model, ids, labels);
            (sum / tokens).backward();
            double g = p.grad!.view(-1)[index].item<float>();
            expected += g * g / data.Length;
        }
        using var ewc = new EwcRegularizer(model, data) { Strength = 2.0 };
        double fisher = ewc.Fisher(name).view(-1)[index].item<float>();
        Assert.Equal(expected, fisher, tolerance: 1e-5 * expected);
        Assert.True(fisher > 0);

        Assert.Equal(0, ewc.ParameterPenalty(model)!.item<float>());
        Nudge(model, name, index, 0.1);
        double penalty = 2.0 / 2 * fisher * 0.01;
        Assert.Equal(penalty, ewc.ParameterPenalty(model)!.item<float>(), tolerance: 1e-5 * penalty);
    }

    [Fact]
    public void Kl_IsZeroAgainstItself_AndMatchesTheFullLogits()
    {
        using var current = TestModels.Create(TestModels.Config(), seed: 2);
        using var ids = tensor(Ids, [1, Ids.Length]);
        using var labels = tensor(Labels, [1, Labels.Length]);
        var (_, tokens, logits) = CausalLmLoss.SumWithLogits(current, ids, labels);
        using (var same = new KlRegularizer(TestModels.Create(TestModels.Config(), seed: 2)))
            Assert.Equal(0, same.OutputPenalty(ids, labels, logits!, tokens)!.item<float>(), tolerance: 1e-7);

        var previous = TestModels.Create(TestModels.Config(), seed: 3);
        var p = TestModels.Logits(previous, Ids);
        var q = TestModels.Logits(current, Ids);
        int vocab = current.Config.VocabSize;
        double expected = 0;
        for (int t = 0; t + 1 < Ids.Length; t++)
        {
            if (Labels[t + 1] == -100) continue;
            double[] LogSoftmax(float[] all)
            {
                var row = all.Skip(t * vocab).Take(vocab).Select(x => (double)x).ToArray();
                double max = row.Max(), z = max + Math.Log(row.Sum(x => Math.Exp(x - max)));
                return row.Select(x => x - z).ToArray();
            }
            var lp = LogSoftmax(p);
            var lq = LogSoftmax(q);
            expected += lp.Select((v, i) => Math.Exp(v) * (v - lq[i])).Sum();
        }
        using var kl = new KlRegularizer(previous) { Strength = 0.5 };
        Assert.Equal(0.5 * expected / tokens, kl.OutputPenalty(ids, labels, logits!, tokens)!.item<float>(), tolerance: 1e-6);
        logits!.Dispose();
    }

    [Fact]
    public void StrongL2_KeepsTrainingCloseToTheAnchor()
    {
        using var dir = new TempDir();
        using (var init = TestModels.Create(TestModels.Config() with { InitializerRange = 0.02 }, seed: 1))
        {
            HfCheckpoint.Save(init, dir.File("base"));
            ByteLevelTokenizerFiles.Write(dir.File("base"));
        }
        double DistanceAfterTraining(double strength, string outDir)
        {
            using var loaded = LoadedModel.Load(dir.File("base"));
            using var anchor = new L2Regularizer(loaded.Model) { Strength = strength };
            var options = new TrainingOptions { LearningRate = 1e-2, BatchSize = 4, Epochs = 3, WarmupRatio = 0, Seed = 1 };
            var regularizers = strength > 0 ? new Regularizer[] { anchor } : [];
            new Trainer(loaded.Model, loaded.Tokenizer, loaded.StopTokenIds, options) { Regularizers = regularizers }
                .Train(new TrainingRun { Examples = KvrGenerator.Generate(8, 3), OutDir = outDir });
            using var original = HfCheckpoint.Load(dir.File("base"));
            using var distance = new L2Regularizer(original);
            return Math.Sqrt(2 * distance.ParameterPenalty(loaded.Model)!.item<float>());
        }
        double free = DistanceAfterTraining(0, dir.File("free"));
        double anchored = DistanceAfterTraining(1000, dir.File("anchored"));
        Assert.True(anchored < free / 2, $"distance from the anchor: {anchored} with L2, {free} without");
        var metrics = MetricsLog.Read(Path.Combine(dir.File("anchored"), "metrics.jsonl"));
        Assert.Contains(metrics, m => (string?)m["kind"] == "train" && (double)m["penalty"]! > 0);
    }
}
