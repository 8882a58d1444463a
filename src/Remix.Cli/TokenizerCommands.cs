using System.CommandLine;
using Remix.Data;
using Remix.Data.Bundled;
using Remix.IO;
using Remix.Tokenization;

namespace Remix.Cli;

/// <summary><c>remix tokenizer train</c>.</summary>
public static class TokenizerCommands
{
    public static Command Build()
    {
        var command = new Command("tokenizer", "Train tokenizers");
        var corpus = new Option<string>("--corpus") { Description = "Text corpus (any format remix data reads: JSONL text/content, Parquet, plain text, ...)", Required = true };
        var size = new Option<int>("--vocab-size") { Description = "Vocabulary size including the 5 added tokens", DefaultValueFactory = _ => 4096 };
        var output = new Option<string>("--out") { Description = "Directory for tokenizer.json and tokenizer_config.json", Required = true };
        var force = new ForceOption("--out folder");
        var train = new Command("train", "Train a byte-level BPE tokenizer and write it in Hugging Face format") { corpus, size, output };
        force.AddTo(train);
        train.SetAction(parse =>
        {
            int vocab = parse.GetValue(size);
            if (vocab < 261) throw new InvalidInputException("--vocab-size", $"expected at least 261 (256 bytes + 5 added tokens), found {vocab}");
            var outDir = parse.GetValue(output)!;
            var corpusFile = BundledPaths.Resolve(parse.GetValue(corpus)!);
            force.Check(parse, outDir, corpusFile);
            var examples = DatasetReader.Read(corpusFile).Examples;
            var texts = examples.Select(e => e.Text ?? string.Join("\n", e.Turns.Select(t => t.Content)));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            BpeTrainer.Result? result = null;
            AtomicDirectory.Write(outDir, tmp => result = BpeTrainer.TrainAndWrite(texts, vocab, tmp));
            var trained = result!; // set by the fill, which ran: Write returned
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"documents: {examples.Count}, pre-tokenized words: {trained.WordsSeen:N0} ({trained.UniqueWords:N0} distinct)");
            o.WriteLine($"vocabulary: {trained.Vocabulary.Count} symbols ({trained.Merges.Count} merges) + 5 added tokens, in {clock.Elapsed.TotalSeconds:F1} s");
            o.WriteLine($"wrote {Path.Combine(parse.GetValue(output)!, HfTokenizer.FileName)}");
            return 0;
        });
        command.Subcommands.Add(train);
        return command;
    }
}
