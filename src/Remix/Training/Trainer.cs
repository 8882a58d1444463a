using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text;
using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Data;
using Remix.Evaluation;
using Remix.Models;
using Remix.Runtime;
using Remix.Tokenization;
using static TorchSharp.torch;

namespace Remix.Training;

/// <summary>
/// Full fine-tuning with the paper's recipe: AdamW, warmup + cosine schedule, gradient clipping and
/// accumulation, reshuffling every epoch, stop rules, evaluation every N steps, checkpoints with
/// everything needed for an exact resume, and one dispose scope per step (plus a periodic garbage
/// collection) so memory stays flat.
/// </summary>
public sealed class Trainer(LlamaForCausalLM model, HfTokenizer tokenizer, IReadOnlyList<int> stopTokenIds, TrainingOptions options)
{
    /// <summary>Called after every optimizer step with the step number (tests use it to interrupt).</summary>
    public Action<int>? AfterStep { get; init; }

    public ProgressReporter? Progress { get; init; }

    /// <summary>Penalties that keep the model near an earlier one (L2, EWC, KL); none by default.</summary>
    public IReadOnlyList<Regularizer> Regularizers { get; init; } = [];

    public TrainingOptions Options { get; } = options.Validated();

    public TrainingResult Train(TrainingRun run, CancellationToken cancellation = default)
    {
        var o = Options;
        var encoder = new ExampleEncoder(tokenizer, maxLength: o.MaxLength);
        var encoding = run.PreEncoded is { } pre ? new EncodingResult(pre, []) : encoder.EncodeAll(run.Examples.Where(e => e.Turns.Count > 0));
        var examples = encoding.Examples;
        if (examples.Count == 0) throw new InvalidInputException(run.OutDir, $"no training examples fit in --max-length {o.MaxLength}");
        int padId = tokenizer.PadTokenId ?? tokenizer.EosTokenId ?? 0;
        int batchesPerEpoch = (examples.Count + o.BatchSize - 1) / o.BatchSize;
        int stepsPerEpoch = (batchesPerEpoch + o.GradientAccumulation - 1) / o.GradientAccumulation;
        int totalSteps = o.Stop is StopRule.StepsReached budget ? Math.Min(budget.Count, stepsPerEpoch * o.Epochs) : stepsPerEpoch * o.Epochs;
        var schedule = new LearningRateSchedule(o.LearningRate, totalSteps, o.WarmupRatio, o.Schedule);
        var memorized = run.MemorizedSet ?? [.. run.Examples.Where(e => e.Kind == ExampleKind.Factoid)];
        if (o.Stop is StopRule.AccuracyReached && memorized.Count == 0)
            throw new InvalidInputException("--stop", "the accuracy rule needs factoid examples in the training data");
        var evaluator = new Evaluator(model, tokenizer, stopTokenIds);
        // The accuracy stop rule's checks need exact match alone: no teacher-forced pass, which took more than half of each
        // check (the checks ran as long as the training between them on the demo's factoid stages).
        var check = new Evaluator(model, tokenizer, stopTokenIds) { TeacherForced = false };
        string fingerprint = Fingerprint(examples, Lora.TrainableParameters(model).Select(p => p.Name));

        // The weights were loaded before the trainer saw the mode: a mode that trains another dtype would silently be another mode.
        if (o.Precision is { } precision && Precisions.WeightDType(precision) != model.DType)
            throw new InvalidInputException("--precision", $"{Precisions.Name(precision)} trains {DTypes.HfName(Precisions.WeightDType(precision))} weights, but the model is loaded in {DTypes.HfName(model.DType)}");
        var trainable = Lora.TrainableParameters(model);
        using var optimizer = new AdamW(trainable, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay, masterWeights: Precisions.KeepsMaster(o.Precision), kernels: model.Kernels);
        var state = new TrainerState { Fingerprint = fingerprint };
        var finalDir = Path.Combine(run.OutDir, "final");
        if (TrainingCheckpoint.Finished(run.OutDir) is { } done)
        {
            if (!run.Resume) throw new InvalidInputException(run.OutDir, "already holds a finished training (final/); choose another --out");
            if (done.Fingerprint != fingerprint)
                throw new InvalidInputException(Path.Combine(run.OutDir, TrainerState.FileName), "was written for other data or another recipe; resume with the same --data and options");
            Progress?.Message($"already finished: {done.Step} steps, {done.StopReason}; final model in {finalDir}");
            return new TrainingResult(done.Step, done.Epoch, done.StopReason ?? "finished", false, double.NaN, done.TokensSeen, encoding.DroppedTooLong.Count, [], null, finalDir)
                { AlreadyFinished = true };
        }
        // The final weights are written before the closing evaluation; a run stopped in between resumes from them.
        var latest = TrainingCheckpoint.HasFinalWeights(run.OutDir) ? finalDir : TrainingCheckpoint.Latest(run.OutDir);
        if (latest is not null && !run.Resume)
            throw new InvalidInputException(run.OutDir, "already holds checkpoints; pass --resume to continue that run or choose another --out");
        if (latest is not null)
        {
            state = TrainingCheckpoint.Load(latest, model, latest == finalDir ? null : optimizer);
            if (state.Fingerprint != fingerprint)
                throw new InvalidInputException(latest, "was written for other data or another recipe; resume with the same --data and options");
            Progress?.Message($"resumed from {latest} (step {state.Step}, epoch {state.Epoch + 1})");
        }

        // The mode that trains, named where --precision was left out too: 16-bit weights then keep a master copy.
        var mode = o.Precision is { } named ? Precisions.Name(named) : model.DType switch
        {
            ScalarType.Float32 => Precisions.Name(Precision.Fp32),
            ScalarType.BFloat16 => Precisions.Name(Precision.Bf16Master),
            _ => $"{DTypes.HfName(model.DType)} with a float32 master copy",
        };
        using var provenance = Runtime.RunProvenance.Begin(run.OutDir, model.Device.ToString(), DTypes.HfName(model.DType), run.CommandLine, cancellation, model.Kernels, mode);
        using var metrics = new MetricsLog(run.OutDir, latest is null ? -1 : state.Step);
        if (state.Step == 0)
            metrics.Log(0, "run", new Dictionary<string, object>
            {
                ["examples"] = examples.Count, ["dropped_too_long"] = encoding.DroppedTooLong.Count, ["total_steps"] = totalSteps,
                ["steps_per_epoch"] = stepsPerEpoch, ["stop"] = o.Stop.ToString()!, ["threads"] = get_num_threads(),
                ["batches"] = model.PacksSequences ? "packed" : "padded",
            });

        model.train();
        double lastLoss = double.NaN;
        var clock = Stopwatch.StartNew();
        bool interrupted = false;
        (int Step, List<EvaluationResult> Results)? lastEvaluation = null;
        (int Step, EvaluationResult Result)? lastMemorized = null;
        string? stopReason = state.StopReason;
        while (!state.Finished && state.Epoch < o.Epochs)
        {
            var plan = BatchPlanner.Plan(examples, o.BatchSize, Seeds.DataOrder(o.Seed, state.Epoch, o.FixedOrder), o.GroupByLength);
            while (state.BatchInEpoch < plan.Count)
            {
                int groupSize = Math.Min(o.GradientAccumulation, plan.Count - state.BatchInEpoch);
                var group = plan.GetRange(state.BatchInEpoch, groupSize);
                double lr = schedule.At(state.Step);
                var stepClock = Stopwatch.StartNew();
                var (loss, penalty, gradNorm, tokens) = Step(state.Step + 1, optimizer, trainable, [.. group.Select(b => ITokenBatch.For(model, [.. b.Select(i => examples[i])], padId))], lr);
                lastLoss = loss;
                int lossCount = loss < (o.Stop as StopRule.LossBelow)?.Threshold ? state.LossStopCount + 1
                    : o.Stop is StopRule.LossBelow { Cumulative: true } ? state.LossStopCount : 0;
                state = state with
                {
                    Step = state.Step + 1, BatchInEpoch = state.BatchInEpoch + groupSize, TokensSeen = state.TokensSeen + tokens, LossStopCount = lossCount,
                };
                double tokensPerSecond = tokens / Math.Max(1e-9, stepClock.Elapsed.TotalSeconds);
                metrics.Log(state.Step, "train", new Dictionary<string, object>
                {
                    ["epoch"] = state.Epoch + (double)state.BatchInEpoch / plan.Count, ["loss"] = loss, ["lr"] = lr,
                    ["grad_norm"] = gradNorm, ["tokens"] = tokens, ["tokens_per_s"] = Math.Round(tokensPerSecond, 1),
                    ["penalty"] = penalty,
                });
                Progress?.Step(state.Step, totalSteps, state.Epoch, loss, lr, tokensPerSecond);
                if (state.Step % o.CollectEvery == 0) GC.Collect();

                if (o.Stop is StopRule.StepsReached steps && state.Step >= steps.Count) stopReason = $"{steps.Count} steps";
                if (o.Stop is StopRule.LossBelow rule && state.LossStopCount >= rule.Steps)
                    stopReason = $"loss below {rule.Threshold} on {rule.Steps} {(rule.Cumulative ? "" : "consecutive ")}steps";
                if (o.EvalEvery > 0 && state.Step % o.EvalEvery == 0) lastEvaluation = (state.Step, EvaluateSets(run.EvalSets, evaluator, metrics, state.Step));
                if (o.Stop is StopRule.AccuracyReached { EverySteps: { } every } acc && state.Step % every == 0)
                {
                    lastMemorized = (state.Step, EvaluateMemorized(check, memorized, metrics, state.Step));
                    if (lastMemorized.Value.Result.Accuracy >= acc.Target) stopReason = $"accuracy on the memorized set reached {acc.Target}";
                }
                if (stopReason is not null) state = state with { Finished = true, StopReason = stopReason };
                if (o.SaveEvery > 0 && state.Step % o.SaveEvery == 0 && !state.Finished)
                    TrainingCheckpoint.Save(run.OutDir, model, optimizer, state, run.TokenizerSource);
                AfterStep?.Invoke(state.Step);
                if (state.Finished) break;
                if (cancellation.IsCancellationRequested)
                {
                    TrainingCheckpoint.Save(run.OutDir, model, optimizer, state, run.TokenizerSource);
                    interrupted = true;
                    break;
                }
            }
            if (interrupted || state.Finished) break;
            state = state with { Epoch = state.Epoch + 1, BatchInEpoch = 0 };
            if (o.Stop is StopRule.AccuracyReached { EverySteps: null } epochRule)
            {
                lastMemorized = (state.Step, EvaluateMemorized(check, memorized, metrics, state.Step));
                if (lastMemorized.Value.Result.Accuracy >= epochRule.Target)
                    state = state with { Finished = true, StopReason = stopReason = $"accuracy on the memorized set reached {epochRule.Target}" };
            }
        }
        if (interrupted)
            return new TrainingResult(state.Step, state.Epoch, "interrupted", true, lastLoss, state.TokensSeen, encoding.DroppedTooLong.Count, [], null, null);

        stopReason ??= $"epoch cap ({o.Epochs})";
        state = state with { Finished = true, StopReason = stopReason };
        // Resumed from final/ (stopped during the closing evaluation): the final weights are written, and the optimizer,
        // never loaded on that path, must not overwrite a kept checkpoint with empty moments.
        if (latest != finalDir)
        {
            SaveFinal(finalDir, state, run.TokenizerSource);
            if (o.KeepCheckpoints) TrainingCheckpoint.Save(run.OutDir, model, optimizer, state, run.TokenizerSource);
        }
        // The final evaluation; when the last step was an evaluation step, that evaluation is the final one.
        var evaluations = lastEvaluation is { } last && last.Step == state.Step ? last.Results : EvaluateSets(run.EvalSets, evaluator, metrics, state.Step);
        foreach (var evaluation in evaluations)
            Evaluator.WritePredictions(Path.Combine(run.OutDir, $"{evaluation.Name}.predictions.jsonl"), evaluation.Predictions);
        metrics.Log(state.Step, "end", new Dictionary<string, object>
        {
            ["stop_reason"] = stopReason, ["epochs"] = state.Epoch + (state.BatchInEpoch > 0 ? 1 : 0), ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
        });
        TrainingCheckpoint.MarkFinished(run.OutDir, state, keepCheckpoints: o.KeepCheckpoints);
        Progress?.Message($"done: {state.Step} steps, {stopReason}; final model in {finalDir}");
        var memorizedFinal = lastMemorized is { } m && m.Step == state.Step ? m.Result : null;
        provenance.Complete();
        return new TrainingResult(state.Step, state.Epoch, stopReason, false, lastLoss, state.TokensSeen, encoding.DroppedTooLong.Count, evaluations, memorizedFinal, finalDir);
    }

    /// <summary>
    /// Optimizer update number <paramref name="step"/> (named if it diverges) over an accumulation group; the
    /// loss is the mean over all labelled tokens of the group, plus the regularizers' penalties (reported separately).
    /// </summary>
    (double Loss, double Penalty, double GradNorm, long Tokens) Step(int step, AdamW optimizer, IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> trainable,
        IReadOnlyList<ITokenBatch> group, double lr)
    {
        using var scope = NewDisposeScope();
        long labelled = group.Sum(b => b.LossTokenCount);
        double lossSum = 0, penalty = 0;
        foreach (var batch in group)
        {
            using var inner = NewDisposeScope();
            var (ids, labels) = batch.ToTensors(model.Device);
            var (sum, _, logits) = CausalLmLoss.SumWithLogits(model, ids, labels, batch.PackedLengths);
            var objective = sum / Math.Max(1, labelled);
            foreach (var regularizer in Regularizers)
                if (logits is not null && regularizer.OutputPenalty(ids, labels, logits, labelled, batch.PackedLengths) is { } outputPenalty)
                {
                    objective = objective + outputPenalty;
                    penalty += outputPenalty.to(ScalarType.Float64).item<double>();
                }
            objective.backward();
            lossSum += sum.to(ScalarType.Float64).item<double>();
        }
        foreach (var regularizer in Regularizers)
            if (regularizer.ParameterPenalty(model) is { } parameterPenalty)
            {
                parameterPenalty.backward(); // l2 and ewc refuse LoRA (frozen weights), so the penalty has a gradient
                penalty += parameterPenalty.to(ScalarType.Float64).item<double>();
            }
        double norm = GradientClipping.GlobalNorm(trainable.Select(p => (Tensor)p.Parameter));
        // Checked before the update, so the weights (and the last checkpoint) stay finite.
        if (!double.IsFinite(lossSum) || !double.IsFinite(norm))
            throw new InvalidInputException("--lr", $"training diverged at step {step}: the loss is {lossSum / Math.Max(1, labelled)} and the gradient norm {norm}; lower the learning rate or train in float32");
        optimizer.Update(lr, GradientClipping.Coefficient(norm, Options.ClipNorm)); // clipped as it updates
        optimizer.ZeroGrad();
        return (lossSum / Math.Max(1, labelled), penalty, norm, group.Sum(b => b.TokenCount));
    }

    EvaluationResult EvaluateMemorized(Evaluator evaluator, IReadOnlyList<Example> memorized, MetricsLog metrics, int step)
    {
        var result = evaluator.Evaluate("memorized", memorized);
        metrics.Log(step, "eval/memorized", Scores(result));
        Progress?.Message($"step {step}: accuracy on the memorized set {result.Accuracy:P1}");
        return result;
    }

    List<EvaluationResult> EvaluateSets(IReadOnlyList<(string Name, IReadOnlyList<Example> Examples)> sets, Evaluator evaluator, MetricsLog metrics, int step)
    {
        var results = new List<EvaluationResult>();
        foreach (var (name, examples) in sets)
        {
            var result = evaluator.Evaluate(name, examples);
            results.Add(result);
            metrics.Log(step, $"eval/{name}", FactScores(result));
            Progress?.Message($"step {step}: {name} accuracy {result.Accuracy:P1}, answer tokens {result.TokenAccuracy:P1}, ROUGE-L {result.RougeL:F3}");
        }
        return results;
    }

    static Dictionary<string, object> Scores(EvaluationResult result) =>
        new(result.Scores().Select(kv => KeyValuePair.Create(kv.Key, (object)kv.Value)).Append(KeyValuePair.Create("correct", (object)result.Correct)));

    /// <summary>
    /// The set's scores and, fact by fact in the set's order, whether it was answered right and its gold log-probability
    /// (null where not taken): what a report needs to say at which step each fact was lost and how its log-probability moved.
    /// </summary>
    static Dictionary<string, object> FactScores(EvaluationResult result)
    {
        var scores = Scores(result);
        scores["fact_ids"] = new JsonArray([.. result.Predictions.Select(p => (JsonNode?)p.Id)]);
        scores["fact_correct"] = new JsonArray([.. result.Predictions.Select(p => (JsonNode?)p.Correct)]);
        scores["fact_gold_logprob"] = new JsonArray([.. result.Predictions.Select(p =>
            double.IsNaN(p.GoldLogProb) ? null : (JsonNode?)Math.Round(p.GoldLogProb, 6))]);
        return scores;
    }

    /// <summary>The final model, with the state that produced it, so that a run stopped during its closing evaluation resumes from it.</summary>
    void SaveFinal(string finalDir, TrainerState state, string? tokenizerSource) => IO.AtomicDirectory.Write(finalDir, tmp =>
    {
        HfCheckpoint.Save(model, tmp, tokenizerSource);
        if (Lora.HasAdapters(model)) PeftAdapter.Save(model, tmp);
        state.Save(Path.Combine(tmp, TrainerState.FileName));
    });

    /// <summary>A hash of the encoded data and the recipe that shapes the run, checked on resume.</summary>
    string Fingerprint(IReadOnlyList<EncodedExample> examples, IEnumerable<string> trainableNames)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var recipe = Options with { EvalEvery = 0, SaveEvery = 0, CollectEvery = 1, KeepCheckpoints = false };
        sha.AppendData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(recipe) + recipe.Stop
            + string.Concat(Regularizers.Select(r => $"{r.Name}:{r.Strength};")) + string.Join(',', trainableNames)));
        foreach (var e in examples)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(e.Id));
            foreach (var id in e.InputIds) sha.AppendData(BitConverter.GetBytes(id));
            foreach (var l in e.Labels) sha.AppendData(BitConverter.GetBytes(l));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
