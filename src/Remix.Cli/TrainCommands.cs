using System.CommandLine;
using System.Globalization;
using Remix.Data;
using Remix.Data.Bundled;
using Remix.Data.Formats;
using Remix.Data.Mixing;
using Remix.Evaluation;
using Remix.Models;
using Remix.Training;

namespace Remix.Cli;

/// <summary><c>remix train</c> and <c>remix eval</c>.</summary>
public static class TrainCommands
{
    public static Command Train(IReadOnlyList<string> commandLine)
    {
        var model = new Option<string>("--model") { Description = "Base checkpoint (Hugging Face layout)", Required = true };
        var data = new Option<string>("--data") { Description = "Training data: FILE[,FILE...] in any supported format", Required = true };
        var output = new Option<string>("--out") { Description = "Run directory (metrics.jsonl, tensorboard/, checkpoints/, final/)", Required = true };
        var mix = new Option<string[]>("--mix") { Description = "REMIX data: random:RATIO, generic:FILE:RATIO (repeatable); RATIO x |data| extra examples" };
        var replay = new Option<string[]>("--replay") { Description = "Replay FILE:FRACTION of an earlier stage's data (repeatable)" };
        var words = new Option<string?>("--words") { Description = $"Word list for random sequences (default: bundled {BundledPaths.WordList})" };
        var randomWords = new Option<string>("--random-words") { Description = "Words per random sequence as PROMPT+TARGET", DefaultValueFactory = _ => "10+10" };
        var eval = new Option<string[]>("--eval") { Description = "Evaluation set FILE (repeatable), evaluated every --eval-every steps and at the end" };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 20, Description = "Most epochs (a --stop rule may end training sooner)" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 5e-5, Description = "Peak learning rate (AdamW)" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32, Description = "Examples per batch (an optimizer step takes --grad-accum batches)" };
        var accum = new Option<int>("--grad-accum") { DefaultValueFactory = _ => 1, Description = "Batches whose gradients add up to one optimizer step" };
        var warmup = new Option<double>("--warmup-ratio") { DefaultValueFactory = _ => 0.05, Description = "Share of the steps over which the learning rate rises from 0 to --lr" };
        var decay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 0.0, Description = "AdamW weight decay" };
        var betas = new Option<string>("--betas") { DefaultValueFactory = _ => "0.9,0.95", Description = "AdamW BETA1,BETA2" };
        var eps = new Option<double>("--eps") { DefaultValueFactory = _ => 1e-8, Description = "AdamW epsilon" };
        var clip = new Option<double>("--clip") { DefaultValueFactory = _ => 1.0, Description = "Gradient norm clip (0: off)" };
        var schedule = new Option<string>("--schedule") { DefaultValueFactory = _ => "cosine", Description = "cosine, linear or constant (after warmup)" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed for the data order, the mixed-in draws and LoRA's initial weights" };
        var stop = new Option<string>("--stop") { DefaultValueFactory = _ => "epochs", Description = "epochs | loss:THRESHOLD:K[:cumulative] | accuracy:TARGET[:EVERY]" };
        var maxLength = new Option<int>("--max-length") { DefaultValueFactory = _ => 2048, Description = "Longer examples are dropped, not truncated" };
        var fixedOrder = new Option<bool>("--fixed-order") { Description = "Same data order every epoch (the reference code's behaviour)" };
        var groupByLength = new Option<bool>("--group-by-length") { Description = "Batch examples of similar length together" };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 0, Description = "Evaluate the --eval sets every N optimizer steps (0: only at the end)" };
        var saveEvery = new Option<int>("--save-every") { DefaultValueFactory = _ => 0, Description = "Checkpoint every N steps (0: only when interrupted)" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its latest checkpoint (a finished run is left as it is)" };
        var keepCheckpoints = new Option<bool>("--keep-checkpoints") { Description = "Keep the checkpoints and optimizer state once training has finished (default: only final/ stays)" };
        var l2 = new Option<double>("--l2") { DefaultValueFactory = _ => 0.0, Description = "L2 to the starting weights: STRENGTH x 1/2 sum (w - w0)^2 (0: off)" };
        var ewc = new Option<string?>("--ewc") { Description = "EWC: STRENGTH:FILE, the diagonal Fisher estimated on FILE (the previous stage's data) at the starting weights (default: off)" };
        var kl = new Option<double>("--kl") { DefaultValueFactory = _ => 0.0, Description = "KL(starting model || current model) on the answer tokens, times STRENGTH (0: off)" };
        var lora = new Option<string?>("--lora") { Description = "Train LoRA adapters instead of all weights: RANK[:ALPHA], alpha 2 x rank unless given (default: off, all weights train)" };
        var loraTargets = new Option<string>("--lora-targets") { Description = "Projections that get adapters", DefaultValueFactory = _ => "q_proj,v_proj" };
        var loraMerge = new Option<bool>("--lora-merge") { Description = "Merge the adapters into the weights of OUT/final (default: keep them as a PEFT adapter next to the base weights)" };
        var read = new DatasetOptions("--data");
        var common = new CommonOptions();
        var command = new Command("train", "Fine-tune a model on data (with REMIX mixing or replay), with checkpoints and resume")
        {
            model, data, output, mix, replay, words, randomWords, eval, epochs, lr, batch, accum, warmup, decay, betas, eps, clip, schedule,
            seed, stop, maxLength, fixedOrder, groupByLength, evalEvery, saveEvery, resume, keepCheckpoints, l2, ewc, kl, lora, loraTargets, loraMerge,
        };
        read.AddTo(command);
        common.AddTo(command);
        command.SetAction(parse =>
        {
            var betaParts = parse.GetValue(betas)!.Split(',');
            if (betaParts.Length != 2 || !double.TryParse(betaParts[0], CultureInfo.InvariantCulture, out var b1) || !double.TryParse(betaParts[1], CultureInfo.InvariantCulture, out var b2))
                throw new InvalidInputException("--betas", $"expected BETA1,BETA2 such as 0.9,0.95, found \"{parse.GetValue(betas)}\"");
            var options = new TrainingOptions
            {
                LearningRate = parse.GetValue(lr), Beta1 = b1, Beta2 = b2, Epsilon = parse.GetValue(eps), WeightDecay = parse.GetValue(decay),
                WarmupRatio = parse.GetValue(warmup), ClipNorm = parse.GetValue(clip), BatchSize = parse.GetValue(batch),
                GradientAccumulation = parse.GetValue(accum), Epochs = parse.GetValue(epochs), MaxLength = parse.GetValue(maxLength),
                Seed = parse.GetValue(seed), FixedOrder = parse.GetValue(fixedOrder), GroupByLength = parse.GetValue(groupByLength),
                Stop = StopRule.Parse(parse.GetValue(stop)!), EvalEvery = parse.GetValue(evalEvery), SaveEvery = parse.GetValue(saveEvery),
                KeepCheckpoints = parse.GetValue(keepCheckpoints),
                Schedule = parse.GetValue(schedule)!.ToLowerInvariant() switch
                {
                    "cosine" => ScheduleKind.Cosine,
                    "linear" => ScheduleKind.Linear,
                    "constant" => ScheduleKind.Constant,
                    var other => throw new InvalidInputException("--schedule", $"expected cosine, linear or constant, found \"{other}\""),
                },
            }.Validated();

            var primary = parse.GetValue(data)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .SelectMany(f => DatasetReader.Read(BundledPaths.Resolve(f), read.Resolve(parse)).Examples).Where(e => e.Kind != ExampleKind.Document).ToList();
            if (primary.Count == 0) throw new InvalidInputException("--data", "no trainable examples (generic corpora go in --mix generic:FILE:RATIO)");
            var shares = new List<MixingShare>();
            foreach (var spec in parse.GetValue(mix) ?? []) shares.Add(ParseMix(spec, parse.GetValue(words), parse.GetValue(randomWords)!));
            foreach (var spec in parse.GetValue(replay) ?? []) shares.Add(ParseReplay(spec));
            var examples = DataMixer.Mix(primary, shares, options.Seed);
            var evalSets = (parse.GetValue(eval) ?? []).Select(f => (Path.GetFileNameWithoutExtension(f), (IReadOnlyList<Example>)DatasetReader.Read(BundledPaths.Resolve(f)).Examples)).ToList();

            var dir = BundledPaths.Resolve(parse.GetValue(model)!);
            using var loaded = common.Load(parse, dir, "training starts from the merged model");
            var progress = ProgressReporter.ForConsole();
            progress.Message($"training on {primary.Count} examples + {examples.Count - primary.Count} mixed in ({string.Join(", ", shares.Select(s => $"{s.Source.Name} x{s.Ratio}"))}), stop rule {options.Stop}");
            if (parse.GetValue(lora) is { } loraSpec)
            {
                var parts = loraSpec.Split(':');
                if (parts.Length > 2 || !int.TryParse(parts[0], out int rank) || rank < 1
                    || (parts.Length == 2 && (!double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out _) || double.Parse(parts[1], CultureInfo.InvariantCulture) <= 0)))
                    throw new InvalidInputException("--lora", $"expected RANK[:ALPHA] such as 8:16, found \"{loraSpec}\"");
                double alpha = parts.Length == 2 ? double.Parse(parts[1], CultureInfo.InvariantCulture) : 2.0 * rank;
                Lora.Attach(loaded.Model, rank, alpha, parse.GetValue(loraTargets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), options.Seed);
            }
            var regularizers = Regularizers(parse.GetValue(l2), parse.GetValue(ewc), parse.GetValue(kl), loaded, dir, options.MaxLength);
            using var disposeRegularizers = new CompositeDisposable(regularizers);
            var trainer = new Trainer(loaded.Model, loaded.Tokenizer, loaded.StopTokenIds, options) { Progress = progress, Regularizers = regularizers };
            var outDir = parse.GetValue(output)!;
            if (parse.GetValue(resume) && !TrainingCheckpoint.CanResume(outDir))
                parse.InvocationConfiguration.Error.WriteLine($"remix: nothing to resume in {outDir} (no checkpoint): starting from scratch");
            using var interruption = new Interruption();
            var result = trainer.Train(new TrainingRun
            {
                Examples = examples, MemorizedSet = [.. primary.Where(e => e.Kind == ExampleKind.Factoid)], EvalSets = evalSets,
                OutDir = outDir, Resume = parse.GetValue(resume), TokenizerSource = dir, CommandLine = commandLine,
            }, interruption.Token);
            if (result.Interrupted)
                return interruption.Stopped(parse.InvocationConfiguration.Error, $"at step {result.Steps}; checkpoint saved in {TrainingCheckpoint.Directory(outDir, result.Steps)}; continue with --resume");
            if (parse.GetValue(loraMerge) && result.FinalModelDirectory is { } finalDir)
            {
                if (!result.AlreadyFinished)
                {
                    if (Lora.HasAdapters(loaded.Model)) Lora.MergeAndSave(loaded.Model, finalDir, dir);
                }
                else if (Lora.HoldsAdapter(finalDir))
                {
                    // Finished earlier but not yet merged (stopped in between): the model in memory is not the trained one, final/ is.
                    using var trained = LoadedModel.Load(finalDir, loaded.Model.Device, loaded.Model.DType);
                    IO.AtomicDirectory.Write(finalDir, tmp => HfCheckpoint.Save(trained.Model, tmp, finalDir));
                }
            }
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"steps: {result.Steps}");
            o.WriteLine($"stop: {result.StopReason}");
            if (result.DroppedTooLong > 0) o.WriteLine($"dropped (longer than --max-length): {result.DroppedTooLong}");
            foreach (var e in result.Evaluations) o.WriteLine($"{e.Name}: accuracy {e.Accuracy:F4}, rouge_l {e.RougeL:F4}");
            if (result.AlreadyFinished) o.WriteLine("already finished: nothing trained or evaluated");
            if (result.FinalModelDirectory is not null) o.WriteLine($"final model: {result.FinalModelDirectory}");
            return 0;
        });
        return command;
    }

    static List<Regularizer> Regularizers(double l2, string? ewc, double kl, LoadedModel loaded, string dir, int maxLength)
    {
        var list = new List<Regularizer>();
        if (l2 < 0 || kl < 0) throw new InvalidInputException(l2 < 0 ? "--l2" : "--kl", $"expected a non-negative strength, found {Math.Min(l2, kl)}");
        if (l2 > 0) list.Add(Regularizer.Create("l2", l2, loaded, dir, [], maxLength));
        if (ewc is not null)
        {
            int colon = ewc.IndexOf(':');
            if (colon <= 0 || !double.TryParse(ewc[..colon], NumberStyles.Float, CultureInfo.InvariantCulture, out var strength) || strength < 0)
                throw new InvalidInputException("--ewc", $"expected STRENGTH:FILE such as 100:d_a.jsonl, found \"{ewc}\"");
            list.Add(Regularizer.Create("ewc", strength, loaded, dir, DatasetReader.Read(BundledPaths.Resolve(ewc[(colon + 1)..])).Examples, maxLength));
        }
        if (kl > 0) list.Add(Regularizer.Create("kl", kl, loaded, dir, [], maxLength));
        return list;
    }

    sealed class CompositeDisposable(IEnumerable<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items) item.Dispose();
        }
    }

    static MixingShare ParseMix(string spec, string? wordsFile, string randomWords)
    {
        var parts = spec.Split(':');
        double Ratio(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r >= 0
            ? r : throw new InvalidInputException("--mix", $"expected a non-negative ratio in \"{spec}\"");
        switch (parts)
        {
            case ["random", var ratio]:
                var split = randomWords.Split('+');
                if (split.Length != 2 || !int.TryParse(split[0], out int p) || !int.TryParse(split[1], out int t) || p < 0 || t < 1)
                    throw new InvalidInputException("--random-words", $"expected PROMPT+TARGET word counts such as 10+10, found \"{randomWords}\"");
                var words = RandomWordSource.LoadWordList(wordsFile is null ? BundledPaths.Find(BundledPaths.WordList) : BundledPaths.Resolve(wordsFile));
                return new MixingShare(new RandomWordSource(words, p, t), Ratio(ratio));
            case ["generic", .. var fileParts, var ratio] when fileParts.Length > 0:
                var file = string.Join(':', fileParts);
                return new MixingShare(new GenericPassageSource(DatasetReader.Read(BundledPaths.Resolve(file)).Examples), Ratio(ratio));
            default:
                throw new InvalidInputException("--mix", $"expected random:RATIO or generic:FILE:RATIO, found \"{spec}\"");
        }
    }

    static MixingShare ParseReplay(string spec)
    {
        int colon = spec.LastIndexOf(':');
        if (colon <= 0 || !double.TryParse(spec[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction) || fraction < 0)
            throw new InvalidInputException("--replay", $"expected FILE:FRACTION such as d_a.jsonl:0.1, found \"{spec}\"");
        return MixingShare.Replay(DatasetReader.Read(BundledPaths.Resolve(spec[..colon])).Examples, fraction);
    }

    public static Command Eval()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint to evaluate", Required = true };
        var data = new Option<string>("--data") { Description = "Dataset file", Required = true };
        var output = new Option<string?>("--out")
        {
            Description = "Predictions JSONL (default: MODEL/eval/DATA-NAME.predictions.jsonl, replacing an earlier evaluation's)",
        };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32, Description = "Questions answered together" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 512, Description = "Cap on generated tokens (the longest gold answer + 8, at most this)" };
        var force = new ForceOption("--out file");
        var read = new DatasetOptions();
        var common = new CommonOptions();
        var command = new Command("eval", "Greedy evaluation: prints accuracy and ROUGE-L, writes per-example predictions") { model, data, output, batch, maxNew };
        read.AddTo(command);
        force.AddTo(command);
        common.AddTo(command);
        command.SetAction(parse =>
        {
            var file = BundledPaths.Resolve(parse.GetValue(data)!);
            var dir = BundledPaths.Resolve(parse.GetValue(model)!);
            // An explicit --out is the user's file; the default one beside the model is Remix's own, replaced by the next evaluation.
            var path = parse.GetValue(output) ?? DefaultPredictionsPath(dir, file);
            if (parse.GetValue(output) is not null) force.Check(parse, path, file);
            bool replacing = File.Exists(path);
            var examples = DatasetReader.Read(file, read.Resolve(parse)).Examples;
            using var loaded = common.Load(parse, dir);
            var result = new Evaluator(loaded) { BatchSize = parse.GetValue(batch), MaxNewTokens = parse.GetValue(maxNew) }
                .Evaluate(Path.GetFileNameWithoutExtension(file), examples);
            Evaluator.WritePredictions(path, result.Predictions);
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"accuracy: {result.Accuracy.ToString("F4", CultureInfo.InvariantCulture)}");
            o.WriteLine($"rouge_l: {result.RougeL.ToString("F4", CultureInfo.InvariantCulture)}");
            o.WriteLine($"answer_token_accuracy: {result.TokenAccuracy.ToString("F4", CultureInfo.InvariantCulture)}");
            o.WriteLine($"gold_logprob: {result.GoldLogProb.ToString("F4", CultureInfo.InvariantCulture)}");
            o.WriteLine($"examples: {result.Predictions.Count} ({result.Correct} correct)");
            o.WriteLine($"predictions: {path}{(replacing ? " (replacing the earlier file)" : "")}");
            return 0;
        });
        return command;
    }

    /// <summary>Where <c>remix eval</c> puts the predictions of <paramref name="dataFile"/> when not told: beside the model, in its eval/ folder.</summary>
    public static string DefaultPredictionsPath(string modelDir, string dataFile) =>
        Path.Combine(modelDir, "eval", $"{Path.GetFileNameWithoutExtension(dataFile)}.predictions.jsonl");
}
