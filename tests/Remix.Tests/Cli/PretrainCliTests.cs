using Remix.Checkpoints;
using Remix.Cli;
using Remix.Data;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Tokenization;
using Remix.Training;

namespace Remix.Tests.Cli;

public class PretrainCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => Support.Cli.Run(args);

    [Fact]
    public void TokenizerTrain_ThenPretrain_GivesAHuggingFaceCheckpointThatGenerates()
    {
        using var dir = new TempDir();
        var docs = Enumerable.Range(0, 40).Select(i => new Example
        {
            Id = $"d{i}", Source = "c", Kind = ExampleKind.Document,
            Text = $"document {i}: the quick brown fox jumps over the lazy dog while the cat sleeps in the sun number {i}.",
        });
        ExampleJsonl.Write(dir.File("corpus.jsonl"), docs);

        var tok = Run("tokenizer", "train", "--corpus", dir.File("corpus.jsonl"), "--vocab-size", "300", "--out", dir.File("tok"));
        Assert.True(tok.Code == 0, tok.Err);
        Assert.Contains("documents: 40", tok.Out);

        var pre = Run("pretrain", "--corpus", dir.File("corpus.jsonl"), "--tokenizer", dir.File("tok"), "--out", dir.File("run"),
            "--hidden-size", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--seq-len", "32", "--batch-size", "4", "--epochs", "2");
        Assert.True(pre.Code == 0, pre.Err);
        Assert.Contains("final loss:", pre.Out);
        var session = Assert.Single(Remix.Runtime.RunProvenance.ReadSessions(dir.File("run")));
        Assert.Equal(["remix", "pretrain", "--corpus"], session["command_line"]!.AsArray().Take(3).Select(n => (string)n!));
        var final = Path.Combine(dir.File("run"), "final");
        var config = HfCheckpoint.LoadConfig(final);
        Assert.Equal(300, config.VocabSize);
        Assert.True(File.Exists(Path.Combine(final, "tokenizer.json")));

        var gen = Run("generate", "--model", final, "--prompt", "the quick", "--max-new-tokens", "5", "--ids");
        Assert.Equal(0, gen.Code);
        Assert.InRange(gen.Out.Trim().Split(' ').Length, 1, 5);
        var info = Run("model", "info", final);
        Assert.Contains("vocabulary size:    300", info.Out);

        // The card is read from the run folder: its numbers are the run's.
        var card = Run("model", "card", dir.File("run"));
        Assert.True(card.Code == 0, card.Err);
        var text = File.ReadAllText(Path.Combine(final, ModelCard.FileName));
        var state = Remix.Training.TrainerState.Load(Path.Combine(final, "trainer_state.json"));
        Assert.Contains($"**{state.TokensSeen:N0} tokens seen**", text);
        Assert.Contains($"{state.Step} optimizer steps", text);
        Assert.Contains(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(dir.File("corpus.jsonl")))), text);
        Assert.Contains("--hidden-size 32 --layers 1", text);
        var losses = Remix.Training.MetricsLog.Read(Path.Combine(dir.File("run"), "metrics.jsonl")).Where(m => (string?)m["kind"] == "train").Select(m => (double)m["loss"]!).ToList();
        var last = System.Text.RegularExpressions.Regex.Match(text, @"\*\*steps (\d+)-(\d+): ([0-9.]+)\*\*");
        Assert.True(last.Success, text);
        Assert.Equal(state.Step, int.Parse(last.Groups[2].Value));
        Assert.Equal(losses.TakeLast(50).Average(), double.Parse(last.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture), 0.006);
        Assert.Equal(1, Run("model", "card", dir.File("run")).Code); // the card exists: --force replaces it
        Assert.Equal(0, Run("model", "card", dir.File("run"), "--force").Code);
        Assert.Equal(1, Run("model", "card", dir.Path, "--out", dir.File("card.md")).Code); // not a finished run

        // bfloat16 storage: half the bytes, each weight the float32 one rounded to 8 significant bits, loaded as float32.
        var convert = Run("model", "convert", final, "--dtype", "bfloat16", "--out", dir.File("bf16"));
        Assert.True(convert.Code == 0, convert.Err);
        Assert.Equal(["BF16"], ModelSummary.Read(dir.File("bf16")).StoredDTypes.Keys);
        Assert.True(File.Exists(dir.File("bf16/tokenizer.json")));
        using (var full = HfCheckpoint.Load(final))
        using (var half = HfCheckpoint.Load(dir.File("bf16")))
        {
            var halves = half.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, w) in full.named_parameters())
            {
                var h = halves[name];
                Assert.Equal(TorchSharp.torch.ScalarType.Float32, h.dtype);
                var error = (h - w).abs().max().item<float>();
                Assert.True(error <= w.abs().max().item<float>() / 256, $"{name}: {error}");
                Assert.True(h.to(TorchSharp.torch.ScalarType.BFloat16).to(TorchSharp.torch.ScalarType.Float32).eq(h).all().item<bool>()); // exactly representable
            }
        }
        Assert.Equal(1, Run("model", "convert", final, "--dtype", "bfloat16", "--out", dir.File("bf16")).Code); // not over it unasked
        Assert.Equal(1, Run("model", "convert", final, "--dtype", "int3", "--out", dir.File("x")).Code);
    }
}
