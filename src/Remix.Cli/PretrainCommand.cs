using System.CommandLine;
using System.Globalization;
using Remix.Checkpoints;
using Remix.Data.Bundled;
using Remix.Data;
using Remix.Models;
using Remix.Tokenization;
using Remix.Training;

namespace Remix.Cli;

/// <summary><c>remix pretrain</c>: a Llama-family model from scratch on packed corpus text.</summary>
public static class PretrainCommand
{
    public static Command Build(IReadOnlyList<string> commandLine)
    {
        var corpus = new Option<string>("--corpus") { Description = "Text corpus (JSONL text/content, Parquet, plain text, ...)", Required = true };
        var tokenizerDir = new Option<string>("--tokenizer") { Description = "Directory with tokenizer.json (from remix tokenizer train)", Required = true };
        var output = new Option<string>("--out") { Description = "Run directory; the model ends in OUT/final", Required = true };
        var hidden = new Option<int>("--hidden-size") { DefaultValueFactory = _ => 256, Description = "Width of the residual stream" };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 4, Description = "Decoder layers" };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 8, Description = "Attention heads" };
        var kvHeads = new Option<int>("--kv-heads") { DefaultValueFactory = _ => 4, Description = "Key/value heads (grouped-query attention when fewer than --heads)" };
        var intermediate = new Option<int?>("--intermediate-size") { Description = "MLP width (default: about 8/3 x hidden, a multiple of 8)" };
        var seqLen = new Option<int>("--seq-len") { DefaultValueFactory = _ => 256, Description = "Tokens per packed block" };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 1, Description = "Passes over the packed corpus" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-3, Description = "Peak learning rate (AdamW, cosine schedule)" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16, Description = "Blocks per optimizer step" };
        var warmup = new Option<double>("--warmup-ratio") { DefaultValueFactory = _ => 0.02, Description = "Share of the steps over which the learning rate rises from 0 to --lr" };
        var decay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 0.1, Description = "AdamW weight decay" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed for the initial weights and the block order" };
        var maxBlocks = new Option<int?>("--max-blocks") { Description = "Use only the first N blocks, for quick runs and size trade-offs (default: all)" };
        var saveEvery = new Option<int>("--save-every") { DefaultValueFactory = _ => 200, Description = "Checkpoint every N steps (0: only when interrupted)" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its latest checkpoint (a finished run is left as it is)" };
        var keepCheckpoints = new Option<bool>("--keep-checkpoints") { Description = "Keep the checkpoints and optimizer state once training has finished (default: only final/ stays)" };
        var common = new CommonOptions();
        var command = new Command("pretrain", "Train a Llama-family model from scratch with next-token loss on packed sequences")
        {
            corpus, tokenizerDir, output, hidden, layers, heads, kvHeads, intermediate, seqLen, epochs, lr, batch, warmup, decay, seed, maxBlocks, saveEvery, resume, keepCheckpoints,
        };
        common.AddTo(command, loadsModel: false);
        command.SetAction(parse =>
        {
            var tokDir = BundledPaths.Resolve(parse.GetValue(tokenizerDir)!);
            using var tokenizer = HfTokenizer.Load(tokDir);
            int h = parse.GetValue(hidden), nh = parse.GetValue(heads), kv = parse.GetValue(kvHeads), block = parse.GetValue(seqLen);
            if (h < 2 || nh < 1 || kv < 1 || h % nh != 0 || nh % kv != 0 || (h / nh) % 2 != 0)
                throw new InvalidInputException("pretrain", $"expected --hidden-size divisible by --heads into even head sizes and --heads divisible by --kv-heads, found {h}, {nh}, {kv}");
            var config = RandomCheckpoint.TinyConfig(h, parse.GetValue(layers), nh, kv, parse.GetValue(intermediate)) with
            {
                VocabSize = tokenizer.VocabularySize,
                BosTokenId = tokenizer.BosTokenId,
                EosTokenIds = tokenizer.EosTokenId is { } eos ? [eos] : [],
                PadTokenId = tokenizer.PadTokenId,
                MaxPositionEmbeddings = Math.Max(2048, block),
            };
            var (device, dtype) = common.Resolve(parse, "float32");
            using var model = new LlamaForCausalLM(config, device, dtype, common.KernelsOf(parse));
            model.InitializeWeights(parse.GetValue(seed));

            var documents = DatasetReader.Read(BundledPaths.Resolve(parse.GetValue(corpus)!)).Examples.Select(e => e.Text ?? string.Join("\n", e.Turns.Select(t => t.Content)));
            var blocks = PackedCorpus.Pack(documents, tokenizer, block);
            if (parse.GetValue(maxBlocks) is { } max) blocks = blocks.Take(max).ToList();
            if (blocks.Count == 0) throw new InvalidInputException(parse.GetValue(corpus)!, $"the corpus gives no complete block of {block} tokens");
            var options = new TrainingOptions
            {
                LearningRate = parse.GetValue(lr), WeightDecay = parse.GetValue(decay), WarmupRatio = parse.GetValue(warmup), BatchSize = parse.GetValue(batch),
                Epochs = parse.GetValue(epochs), MaxLength = block, Seed = parse.GetValue(seed), SaveEvery = parse.GetValue(saveEvery),
                KeepCheckpoints = parse.GetValue(keepCheckpoints),
            }.Validated();
            var progress = ProgressReporter.ForConsole();
            progress.Message($"pretraining {model.ParameterCount():N0} parameters on {blocks.Count:N0} blocks x {block} tokens ({(long)blocks.Count * block:N0} tokens per epoch)");
            var trainer = new Trainer(model, tokenizer, config.EosTokenIds, options) { Progress = progress };
            var outDir = parse.GetValue(output)!;
            Interruption.SayIfNothingToResume(parse.InvocationConfiguration.Error, outDir, parse.GetValue(resume));
            using var interruption = new Interruption();
            var result = trainer.Train(new TrainingRun { PreEncoded = blocks, OutDir = outDir, Resume = parse.GetValue(resume), TokenizerSource = tokDir, CommandLine = commandLine }, interruption.Token);
            if (result.Interrupted)
                return interruption.StoppedTraining(parse.InvocationConfiguration.Error, outDir, result.Steps);
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"parameters: {model.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)}");
            o.WriteLine($"steps: {result.Steps}, tokens seen: {result.TokensSeen.ToString("N0", CultureInfo.InvariantCulture)}");
            // A run found already finished trains no step here: its losses are in its metrics.jsonl.
            if (!double.IsNaN(result.LastLoss)) o.WriteLine($"final loss: {result.LastLoss.ToString("F4", CultureInfo.InvariantCulture)}");
            if (result.FinalModelDirectory is not null) o.WriteLine($"final model: {result.FinalModelDirectory}");
            return 0;
        });
        return command;
    }
}
