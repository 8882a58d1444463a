using Remix.Checkpoints;
using Remix.Cli;
using Remix.Data;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Tokenization;

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
    }
}
