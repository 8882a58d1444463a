using System.CommandLine;
using System.Globalization;
using Remix.Checkpoints;
using Remix.Data.Bundled;
using Remix.Data.Formats;
using Remix.Data;
using Remix.Evaluation;
using Remix.Experiments;
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
        var mix = new Option<string[]>("--mix") { Description = "REMIX data: random:RATIO, generic:RATIO (the bundled corpus) or generic:FILE:RATIO (repeatable); RATIO x |data| extra examples" };
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
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed for the data order, the mixed-in draws and LoRA's initial weights (a spec's seed: for this one stage)" };
        var stop = new Option<string>("--stop") { DefaultValueFactory = _ => "epochs", Description = "epochs | steps:N (a budget of optimizer steps; the schedule runs over it) | loss:THRESHOLD:K[:cumulative] | accuracy:TARGET[:EVERY]" };
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
        var loraOption = new Option<string?>("--lora") { Description = "Train LoRA adapters instead of all weights: RANK[:ALPHA], alpha 2 x rank unless given (default: off, all weights train)" };
        var loraTargets = new Option<string>("--lora-targets") { Description = "Projections that get adapters", DefaultValueFactory = _ => string.Join(',', Lora.DefaultTargets) };
        var loraMerge = new Option<bool>("--lora-merge") { Description = "Merge the adapters into the weights of OUT/final (default: keep them as a PEFT adapter next to the base weights)" };
        var precision = new Option<string?>("--precision")
        {
            Description = $"{Precisions.Names}: fp32 16 B per parameter; bf16-master bfloat16 weights with a float32 master copy and moments, 16 B;"
                + " bf16-pure weights, gradients and moments in bfloat16, 8 B. Sets the dtype (--dtype auto) or must agree with it (default: from --dtype, 16-bit with a master copy)",
        };
        var read = new DatasetOptions("--data");
        var common = new CommonOptions();
        var command = new Command("train", "Fine-tune a model on data (with REMIX mixing or replay), with checkpoints and resume")
        {
            model, data, output, mix, replay, words, randomWords, eval, epochs, lr, batch, accum, warmup, decay, betas, eps, clip, schedule,
            seed, stop, maxLength, fixedOrder, groupByLength, evalEvery, saveEvery, resume, keepCheckpoints, l2, ewc, kl, loraOption, loraTargets, loraMerge,
            precision,
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
                FixedOrder = parse.GetValue(fixedOrder), GroupByLength = parse.GetValue(groupByLength),
                Stop = StopRule.Parse(parse.GetValue(stop)!), EvalEvery = parse.GetValue(evalEvery), SaveEvery = parse.GetValue(saveEvery),
                KeepCheckpoints = parse.GetValue(keepCheckpoints),
                Precision = parse.GetValue(precision) is { } mode ? Precisions.Parse(mode) : null,
                Schedule = parse.GetValue(schedule)!.ToLowerInvariant() switch
                {
                    "cosine" => ScheduleKind.Cosine,
                    "linear" => ScheduleKind.Linear,
                    "constant" => ScheduleKind.Constant,
                    var other => throw new InvalidInputException("--schedule", $"expected cosine, linear or constant, found \"{other}\""),
                },
            }.Validated();
            // One stage of a one-seed experiment: --seed is the run's seed (a spec's seed:), added to the recipe's own.
            options = options with { Seed = Seeds.Stage(options.Seed, parse.GetValue(seed)) };

            var primary = parse.GetValue(data)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .SelectMany(f => DatasetReader.Read(BundledPaths.Resolve(f), read.Resolve(parse)).Examples).Where(e => e.Kind != ExampleKind.Document).ToList();
            if (primary.Count == 0) throw new InvalidInputException("--data", "no trainable examples (generic corpora go in --mix generic:FILE:RATIO)");
            var mixes = (parse.GetValue(mix) ?? []).Select(m => StageOptions.Mix(m, parse.GetValue(words), parse.GetValue(randomWords)!)).ToList();
            // Word options shape random sequences only: given without a random mix they would change nothing, silently.
            foreach (var option in new Option[] { words, randomWords })
                if (parse.GetResult(option) is { Implicit: false } && !mixes.Any(m => m.Source == "random"))
                    throw new InvalidInputException(option.Name, "applies to random word sequences: add --mix random:RATIO, or leave it out");
            var replays = (parse.GetValue(replay) ?? []).Select(StageOptions.Replay).ToList();
            var examples = TrainingSet(primary, mixes, replays, options.Seed);
            var lora = parse.GetValue(loraOption) is { } loraText ? StageOptions.Lora(loraText, parse.GetValue(loraTargets)) : null;
            var penalties = Regularizers(parse.GetValue(l2), parse.GetValue(ewc), parse.GetValue(kl));
            var evalSets = (parse.GetValue(eval) ?? []).Select(f => (Path.GetFileNameWithoutExtension(f), (IReadOnlyList<Example>)DatasetReader.Read(BundledPaths.Resolve(f)).Examples)).ToList();

            var dir = BundledPaths.Resolve(parse.GetValue(model)!);
            using var loaded = common.Load(parse, dir, "training starts from the merged model", Precisions.DTypeOption(options.Precision, parse.GetValue(common.DType)!));
            var progress = ProgressReporter.ForConsole();
            var shares = mixes.Select(m => $"{m.Source} x{m.Ratio}").Concat(replays.Select(r => $"replay x{r.Replay.Fraction}"));
            progress.Message($"training on {primary.Count} examples + {examples.Count - primary.Count} mixed in ({string.Join(", ", shares)}), stop rule {options.Stop}");
            if (lora is not null) Lora.Attach(loaded.Model, lora.Rank, lora.Alpha, lora.Targets, options.Seed);
            var regularizers = penalties.Select(p => Regularizer.Create(p.Regularizer.Type, p.Regularizer.Strength, loaded, dir, p.PreviousSet, options.MaxLength)).ToList();
            using var disposeRegularizers = new CompositeDisposable(regularizers);
            var trainer = new Trainer(loaded.Model, loaded.Tokenizer, loaded.StopTokenIds, options) { Progress = progress, Regularizers = regularizers };
            var outDir = parse.GetValue(output)!;
            Interruption.SayIfNothingToResume(parse.InvocationConfiguration.Error, outDir, parse.GetValue(resume));
            using var interruption = new Interruption();
            var result = trainer.Train(new TrainingRun
            {
                Examples = examples, MemorizedSet = [.. primary.Where(e => e.Kind == ExampleKind.Factoid)], EvalSets = evalSets,
                OutDir = outDir, Resume = parse.GetValue(resume), TokenizerSource = dir, CommandLine = commandLine,
            }, interruption.Token);
            if (result.Interrupted)
                return interruption.StoppedTraining(parse.InvocationConfiguration.Error, outDir, result.Steps);
            if (parse.GetValue(loraMerge) && result.FinalModelDirectory is { } finalDir)
            {
                if (!result.AlreadyFinished)
                {
                    if (Lora.HasAdapters(loaded.Model)) PeftAdapter.MergeAndSave(loaded.Model, finalDir, dir);
                }
                else if (PeftAdapter.Holds(finalDir))
                {
                    // Finished earlier but not yet merged (stopped in between): the model in memory is not the trained one, final/ is.
                    using var trained = LoadedModel.Load(finalDir, loaded.Model.Device, loaded.Model.DType, kernels: loaded.Model.Kernels);
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

    /// <summary>
    /// The examples <c>remix train</c> trains on, built as a one-stage spec's are (<see cref="StageTrainingSet"/>, stage
    /// index 0): <paramref name="primary"/>, then the <c>--mix</c> draws, then the <c>--replay</c> draws from each file's
    /// set, under <paramref name="stageSeed"/>.
    /// </summary>
    public static List<Example> TrainingSet(IReadOnlyList<Example> primary, IEnumerable<MixSpec> mix, IEnumerable<(ReplaySpec Replay, string File)> replay, int stageSeed) =>
        StageTrainingSet.Build(primary, mix, replay.Select(r => (r.Replay, EarlierSet("--replay", r.File))), stageSeed, stageIndex: 0);

    /// <summary>
    /// --l2, --ewc and --kl, in the order their penalties add up, each with the set it is estimated on (the previous
    /// stage's: ewc's file; none for the others).
    /// </summary>
    static List<(RegularizerSpec Regularizer, IReadOnlyList<Example> PreviousSet)> Regularizers(double l2, string? ewc, double kl)
    {
        var list = new List<(RegularizerSpec, IReadOnlyList<Example>)>();
        if (StageOptions.Penalty("l2", l2) is { } l2Spec) list.Add((l2Spec, []));
        if (ewc is not null)
        {
            var (ewcSpec, file) = StageOptions.Ewc(ewc);
            list.Add((ewcSpec, EarlierSet("--ewc", file)));
        }
        if (StageOptions.Penalty("kl", kl) is { } klSpec) list.Add((klSpec, []));
        return list;
    }

    /// <summary>The set of the earlier stage a file stands for: its examples to learn, as a spec's stage reads its data.</summary>
    static IReadOnlyList<Example> EarlierSet(string option, string file)
    {
        var set = DatasetReader.Read(file).Examples.Where(e => e.Kind != ExampleKind.Document).ToList();
        return set.Count > 0 ? set : throw new InvalidInputException(option, $"{file}: no examples to learn (only documents)");
    }

    sealed class CompositeDisposable(IEnumerable<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items) item.Dispose();
        }
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
