using System.Diagnostics;
using System.Text.Json;
using Remix.Checkpoints;
using Remix.Data;
using Remix.Data.Batching;
using Remix.Evaluation;
using Remix.Experiments;
using Remix.Models;
using Remix.Models.Kernels;
using Remix.Training;
using static TorchSharp.torch;
using Remix.Runtime;

namespace Remix.Bench;

/// <summary>
/// Training at the shapes of <c>remix demo</c>: a stage of a demo condition (its own data, model, recipe and mixing)
/// through the real <see cref="Trainer"/> for a fixed number of steps, with evaluation off, reporting tokens/s; then
/// each part of a step timed alone at the step's real shapes (median of repeats after warm-up) against the whole
/// step, and the cost of one evaluation of the stage's set and how often the demo makes one.
/// </summary>
static class DemoTrainingBenchmark
{
    public static int Run(string[] args)
    {
        BenchArgs.Check(args, ["--runs", "--steps", "--repeats", "--threads", "--kernels"], ["--quick"]);
        int threads = BenchArgs.Int(args, "--threads", Environment.ProcessorCount);
        int steps = BenchArgs.Int(args, "--steps", 30), repeats = BenchArgs.Int(args, "--repeats", 15);
        bool quick = BenchArgs.Flag(args, "--quick");
        var kernels = KernelChoices.Parse(BenchArgs.String(args, "--kernels") ?? "auto");
        // condition/stage pairs: stage A of naive (no mixing), stage A of remix-both (random words), stage B of remix-both (generic text)
        var runs = (BenchArgs.String(args, "--runs") ?? "naive/A,remix-both/A,remix-both/B").Split(',');
        set_num_threads(threads);
        var conditions = DemoExperiment.Conditions(quick);
        Console.WriteLine($"demo shapes ({(quick ? "--quick" : "full demo")} spec files), {threads} threads, kernels {KernelChoices.Describe(kernels)}, {steps} training steps per run");
        foreach (var run in runs)
        {
            var parts = run.Split('/');
            var spec = conditions.FirstOrDefault(s => s.Name == parts[0]) ?? throw new InvalidInputException("--runs", $"no demo condition \"{parts[0]}\" (expected {string.Join(", ", DemoExperiment.ConditionFiles)})");
            int index = parts.Length == 2 ? spec.Stages.ToList().FindIndex(s => s.Name == parts[1]) : -1;
            if (index < 0) throw new InvalidInputException("--runs", $"expected CONDITION/STAGE with a stage of {spec.Name} ({string.Join(", ", spec.Stages.Select(s => s.Name))}), found \"{run}\"");
            RunStage(spec, index, steps, repeats, kernels);
        }
        return 0;
    }

    static void RunStage(ExperimentSpec spec, int index, int steps, int repeats, KernelChoice kernels)
    {
        var stage = spec.Stages[index];
        var sets = spec.Stages.Select(s => s.ReadSet()).ToList();
        int seed = Seeds.Stage(stage.Recipe.Seed, spec.Seeds[0]);
        var examples = StageTrainingSet.Build(sets[index], stage.Mix, [], seed, index);
        using var loaded = LoadedModel.Load(spec.BaseModel, kernels: kernels);
        var model = loaded.Model;
        var encoded = new ExampleEncoder(loaded.Tokenizer, maxLength: stage.Recipe.MaxLength).EncodeAll(examples).Examples;
        int padId = loaded.Tokenizer.PadTokenId ?? loaded.Tokenizer.EosTokenId ?? 0;
        int batchSize = stage.Recipe.BatchSize;
        var plan = BatchPlanner.Plan(encoded, batchSize, Seeds.DataOrder(seed, 0, stage.Recipe.FixedOrder), stage.Recipe.GroupByLength);
        var batches = plan.Select(b => PaddedBatch.From([.. b.Select(i => encoded[i])], padId)).ToList();
        int stepsPerEpoch = plan.Count;
        string mixing = stage.Mix.Count == 0 ? "no mixing" : string.Join(" + ", stage.Mix.Select(m => $"{m.Source} x{m.Ratio}"));
        Console.WriteLine();
        Console.WriteLine($"### {spec.Name}, stage {stage.Name}: {sets[index].Count} facts, {mixing} -> {examples.Count} examples, batch {batchSize}, {stepsPerEpoch} steps per epoch; " +
            $"padded widths {string.Join("/", batches.Select(b => b.Width))}, real tokens per batch {string.Join("/", batches.Select(b => b.TokenCount))}, loss tokens {string.Join("/", batches.Select(b => b.LossTokenCount))}");

        // 1. The whole step through the real trainer (evaluation off, the demo's recipe otherwise).
        var work = Path.Combine(Path.GetTempPath(), $"remix-bench-{Guid.NewGuid():N}");
        var stepEnds = new List<double>();
        var clock = new Stopwatch();
        var options = stage.Recipe with
        {
            Seed = seed, Stop = new StopRule.Epochs(), EvalEvery = 0, SaveEvery = 0, Epochs = (steps + stepsPerEpoch - 1) / stepsPerEpoch,
        };
        try
        {
            clock.Start();
            new Trainer(model, loaded.Tokenizer, loaded.StopTokenIds, options) { AfterStep = _ => stepEnds.Add(clock.Elapsed.TotalSeconds) }
                .Train(new TrainingRun { Examples = examples, OutDir = work });
            var logged = File.ReadLines(Path.Combine(work, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
                .Where(e => e.GetProperty("kind").GetString() == "train").ToList();
            int from = stepEnds.Count / 3; // after warm-up
            var wall = Enumerable.Range(from, stepEnds.Count - from).Select(i => 1000 * (stepEnds[i] - stepEnds[i - 1])).ToList();
            var inner = logged.Skip(from).Select(e => 1000 * e.GetProperty("tokens").GetDouble() / e.GetProperty("tokens_per_s").GetDouble()).ToList();
            double tokens = logged.Skip(from).Sum(e => e.GetProperty("tokens").GetDouble());
            Console.WriteLine($"trainer, steps {from + 1}-{stepEnds.Count}: {tokens / (wall.Sum() / 1000):N0} real tokens/s over the wall time between steps; " +
                $"per step {Stats.Of(wall).Format("F1")} ms wall, of which {Stats.Of(inner).Format("F1")} ms in the step itself (forward, backward, clip, AdamW; medians, min-max)");
            StepStats = Stats.Of(inner);
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }

        // 2. The parts alone, at the median batch's shapes.
        var typical = batches.OrderBy(b => b.Width).ElementAt(batches.Count / 2);
        var examplesOfTypical = plan[batches.IndexOf(typical)].Select(i => encoded[i]).ToList();
        Breakdown(model, model.PacksSequences ? PackedBatch.From(examplesOfTypical) : typical, repeats, kernels);

        // 3. Evaluation: one call on the stage's own set, as the accuracy stop rule makes after every epoch.
        var evaluator = new Evaluator(loaded);
        var memorized = sets[index].Where(e => e.Kind == ExampleKind.Factoid).ToList();
        evaluator.Evaluate("warm-up", memorized.Take(4).ToList());
        var evalTimes = new List<double>();
        for (int r = 0; r < 3; r++)
        {
            var t = Stopwatch.StartNew();
            evaluator.Evaluate("memorized", memorized);
            evalTimes.Add(t.Elapsed.TotalSeconds * 1000);
        }
        // Its parts: the generation's prefill alone (one new token), the whole generation, and the rest (teacher-forced scoring, decoding text).
        var noScoring = new Evaluator(loaded) { TeacherForced = false };
        var prefillOnly = new Evaluator(loaded) { TeacherForced = false, MaxNewTokens = 1 };
        var withoutScoring = new List<double>();
        var prefill = new List<double>();
        for (int r = 0; r < 3; r++)
        {
            var t = Stopwatch.StartNew();
            noScoring.Evaluate("memorized", memorized);
            withoutScoring.Add(t.Elapsed.TotalSeconds * 1000);
            t.Restart();
            prefillOnly.Evaluate("memorized", memorized);
            prefill.Add(t.Elapsed.TotalSeconds * 1000);
        }
        double whole = Stats.Of(evalTimes).Median, generation = Stats.Of(withoutScoring).Median, first = Stats.Of(prefill).Median;
        Console.WriteLine($"  of which: prefill and first token {first:F0} ms, later decoding steps {generation - first:F0} ms, teacher-forced scoring {whole - generation:F0} ms");
        string every = stage.Recipe.Stop is StopRule.AccuracyReached { EverySteps: { } n } ? $"every {n} steps" : $"every epoch ({stepsPerEpoch} steps)";
        Console.WriteLine($"evaluation of the stage's {memorized.Count} facts (greedy, batch {evaluator.BatchSize}): {Stats.Of(evalTimes).Format("F0")} ms; the demo makes one {every}" +
            (stage.Recipe.EvalEvery > 0 ? $", plus one of each earlier stage's set every {stage.Recipe.EvalEvery} steps" : "") +
            $" = {Stats.Of(evalTimes).Median / (StepStats.Median * stepsPerEpoch):F1}x the training steps between two");
    }

    static Stats StepStats;

    /// <summary>The parts at the shapes of <paramref name="batch"/>: padded rows, or the trainer's packed row where the model packs.</summary>
    static void Breakdown(LlamaForCausalLM model, ITokenBatch batch, int repeats, KernelChoice kernels)
    {
        var c = model.Config;
        var packed = batch.PackedLengths;
        long b = batch is PaddedBatch p ? p.Size : 1, t = batch is PaddedBatch q ? q.Width : batch.TokenCount, n = b * t;
        long loss = batch.LossTokenCount, d = c.HiddenSize, kv = (long)c.NumKeyValueHeads * c.HeadDim, h = c.IntermediateSize;
        int layers = c.NumHiddenLayers;
        Console.WriteLine(packed is null
            ? $"parts alone at batch {b} x {t} ({n} positions, {loss} with a loss), forward + backward, median of {repeats} (min-max), ms:"
            : $"parts alone at the batch packed into one row of {n} tokens ({packed.Count} examples of {packed.Min()}-{packed.Max()} tokens, {loss} with a loss), forward + backward, median of {repeats} (min-max), ms:");
        Console.WriteLine("| part | shape | once | per step | share of step |");
        Console.WriteLine("|:---|:---|---:|---:|---:|");
        double sum = 0;
        // Each part's inputs are made once (leaf tensors needing a gradient), so that only its forward and backward are timed.
        void Row(string part, string shape, int count, Func<Tensor[]> inputs, Func<Tensor[], Tensor> forward)
        {
            var s = Time(inputs, forward, repeats);
            sum += count * s.Median;
            Console.WriteLine($"| {part} | {shape} | {s.Format("F3")} | {count * s.Median:F2} ({count}x) | {100 * count * s.Median / StepStats.Median:F0}% |");
        }
        void Linear(string name, long inDim, long outDim, long rows, int count) => Row($"matmul {name}", $"[{rows},{inDim}]x[{inDim},{outDim}]", count,
            () => [randn(rows, inDim).requires_grad_(), (randn(outDim, inDim) * 0.02).detach().requires_grad_()], x => nn.functional.linear(x[0], x[1]));
        Linear("q, o", d, d, n, 2 * layers);
        Linear("k, v", d, kv, n, 2 * layers);
        Linear("gate, up", d, h, n, 2 * layers);
        Linear("down", h, d, n, layers);
        var rotary = new RotaryEmbedding(c.HeadDim, c.RopeTheta, c.RopeScaling);
        var (cos, sin) = rotary.Compute(packed is null ? LlamaForCausalLM.DefaultPositions(zeros(b, t, ScalarType.Int64), 0) : LlamaModel.PackedPositions(packed, CPU), ScalarType.Float32);
        Row("attention (RoPE + causal SDPA)", $"q [{b},{t},{c.NumAttentionHeads},{c.HeadDim}], kv {c.NumKeyValueHeads} heads", layers,
            () => [randn(b, t, c.NumAttentionHeads, c.HeadDim).requires_grad_(), randn(b, t, c.NumKeyValueHeads, c.HeadDim).requires_grad_(), randn(b, t, c.NumKeyValueHeads, c.HeadDim).requires_grad_()],
            x => KernelChoices.UsesCpuKernels(kernels) && CpuCausalAttention.Supports(x[0], x[1], x[2], cos, sin, packed)
                ? CpuCausalAttention.Apply(x[0], x[1], x[2], cos, sin, packed)
                : LlamaAttention.GroupedAttention(RotaryEmbedding.Apply(x[0], cos, sin).transpose(1, 2), RotaryEmbedding.Apply(x[1], cos, sin).transpose(1, 2), x[2].transpose(1, 2), null, true));
        using var norm = new RMSNorm(d, c.RmsNormEps, CPU, ScalarType.Float32, kernels);
        Row("RMSNorm", $"[{b},{t},{d}]", 2 * layers + 1, () => [randn(b, t, d).requires_grad_()], x => norm.Forward(x[0]));
        Row("SwiGLU", $"[{b},{t},{h}]", layers, () => [randn(b, t, h).requires_grad_(), randn(b, t, h).requires_grad_()], x => SwiGlu.Apply(x[0], x[1], kernels));
        Row("residual adds", $"[{b},{t},{d}]", 2 * layers, () => [randn(b, t, d).requires_grad_(), randn(b, t, d).requires_grad_()], x => x[0] + x[1]);
        var ids = randint(c.VocabSize, [n]);
        var gold = randint(c.VocabSize, [loss]);
        Row("embedding lookup", $"{n} rows of [{c.VocabSize},{d}]", 1, () => [(randn(c.VocabSize, d) * 0.02).detach().requires_grad_()], x => x[0].index_select(0, ids));
        Row("LM head + cross-entropy", $"[{loss},{d}]x[{d},{c.VocabSize}]", 1, () => [randn(loss, d).requires_grad_(), (randn(c.VocabSize, d) * 0.02).detach().requires_grad_()],
            x => nn.functional.cross_entropy(nn.functional.linear(x[0], x[1]), gold, reduction: nn.Reduction.Sum));
        double parts = sum;

        // The model's own forward + backward, clipping and AdamW on its real parameters.
        var (inputIds, labels) = batch.ToTensors(model.Device);
        var trainable = Lora.TrainableParameters(model);
        using var optimizer = new AdamW(trainable);
        // As in the trainer, each backward starts from no gradients (AdamW.ZeroGrad drops them).
        var whole = Time(() => { CausalLmLoss.Sum(model, inputIds, labels, packed).Sum.backward(); optimizer.ZeroGrad(); }, repeats);
        using (NewDisposeScope()) CausalLmLoss.Sum(model, inputIds, labels, packed).Sum.backward(); // gradients for the clipping and the update
        var clip = Time(() => GradientClipping.GlobalNorm(trainable.Select(p => (Tensor)p.Parameter)), repeats);
        var adam = Time(() => optimizer.Update(1e-9), repeats);
        Console.WriteLine($"| gradient norm (clipping) | {trainable.Count} tensors | {clip.Format("F3")} | {clip.Median:F2} | {100 * clip.Median / StepStats.Median:F0}% |");
        Console.WriteLine($"| AdamW update | {model.ParameterCount():N0} parameters | {adam.Format("F3")} | {adam.Median:F2} | {100 * adam.Median / StepStats.Median:F0}% |");
        sum += clip.Median + adam.Median;
        Console.WriteLine($"| **sum of the parts** | | | {sum:F2} | {100 * sum / StepStats.Median:F0}% |");
        Console.WriteLine($"| model forward + backward alone (CausalLmLoss) | | {whole.Format("F2")} | {whole.Median:F2} | {100 * whole.Median / StepStats.Median:F0}% |");
        Console.WriteLine($"| **whole step in the trainer** | | | {StepStats.Median:F2} | 100% |");
        Console.WriteLine($"rest of the step beyond its parts (dispatch, reshapes, transposes, index_select of the loss positions, copies): {StepStats.Median - sum:F2} ms; " +
            $"the model's forward + backward is {whole.Median - parts:F2} ms more than its parts");
    }

    /// <summary>Milliseconds of <paramref name="action"/>, each run in its own dispose scope, after three warm-up runs.</summary>
    static Stats Time(Action action, int repeats)
    {
        for (int i = 0; i < 3; i++) using (NewDisposeScope()) action();
        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            action();
            times.Add(clock.Elapsed.TotalSeconds * 1000);
        }
        return Stats.Of(times);
    }

    /// <summary>
    /// Milliseconds of <paramref name="forward"/> and its backward pass from a dense random gradient of the output's shape,
    /// over inputs made once by <paramref name="inputs"/>; the inputs' gradients are dropped after each run.
    /// </summary>
    /// <remarks>
    /// Not the backward of the output's sum: that gradient is one value expanded (stride 0), and the matmuls' backward
    /// took about twice as long on it as on a dense gradient such as the model's (the parts then added up to 150% of the
    /// step they are parts of).
    /// </remarks>
    static Stats Time(Func<Tensor[]> inputs, Func<Tensor[], Tensor> forward, int repeats)
    {
        using var scope = NewDisposeScope();
        var x = inputs();
        Tensor gradient;
        using (no_grad()) gradient = forward(x) is var y && y.dim() == 0 ? ones_like(y) : randn_like(y);
        return Time(() =>
        {
            forward(x).backward([gradient]);
            foreach (var leaf in x) leaf.grad = null;
        }, repeats);
    }
}
