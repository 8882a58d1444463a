using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Remix.Data;
using Remix.Data.Batching;
using Remix.Data.Mixing;
using Remix.Evaluation;
using Remix.IO;
using Remix.Models;
using Remix.Training;

namespace Remix.Experiments;

/// <summary>
/// Runs an <see cref="ExperimentSpec"/> for one seed, stage by stage: each stage fine-tunes the
/// previous stage's model, then every stage's set is evaluated, filling the accuracy matrix
/// R[i][j]. The run directory holds the config snapshot, one folder per stage (a training run
/// with its predictions), <c>results.json</c>, <c>results.csv</c>, <c>results.md</c> and a <c>DONE</c>
/// marker; a finished run is not redone and an interrupted one resumes.
/// </summary>
public sealed class ExperimentRunner(ExperimentSpec spec)
{
    public ProgressReporter? Progress { get; init; }

    /// <summary>
    /// A folder where finished stage trainings are kept under a key of everything that determines them
    /// (base model, device, dtype, seed, this and every earlier stage's spec), so runs that begin the
    /// same way — the demo's conditions share stage 1 — train that stage once; each run still
    /// evaluates its own sets after it. Files are named by path, not by content: after changing a
    /// model or a data file in place, empty this folder.
    /// </summary>
    public string? SharedStages { get; init; }

    /// <summary>Keep every stage's checkpoints (with optimizer state) after it finishes, whatever its recipe says.</summary>
    public bool KeepCheckpoints { get; init; }

    /// <summary>The command line recorded in provenance.json of the run folder and its stages; by default this process's arguments.</summary>
    public IReadOnlyList<string>? CommandLine { get; init; }

    public const string DoneMarker = "DONE";

    /// <summary>The run folder of one seed under an experiment's output folder.</summary>
    public static string SeedDirectory(string root, int seed) => Path.Combine(root, $"seed-{seed}");

    /// <summary>The folder of stage <paramref name="number"/> (from 1) in a run folder: training, final model, evaluation.</summary>
    public static string StageDirectory(string runDir, int number, string name) => Path.Combine(runDir, $"stage-{number}-{name}");

    public ExperimentResults Run(string runDir, int seed, CancellationToken cancellation = default)
    {
        var resultsPath = Path.Combine(runDir, ExperimentResults.FileName);
        if (File.Exists(Path.Combine(runDir, DoneMarker)) && File.Exists(resultsPath))
            return ExperimentResults.Read(resultsPath);
        Directory.CreateDirectory(runDir);
        using var provenance = Runtime.RunProvenance.Begin(runDir, spec.Device, spec.DType, CommandLine, cancellation);
        AtomicFile.WriteAllText(Path.Combine(runDir, "config.json"), spec.Json);

        var sets = spec.Stages.Select(s => s.ReadSet()).ToList();
        string[] scoredBy = [.. sets.Select(ScoredBy)];
        var matrix = new AccuracyMatrix(spec.Stages.Count);
        var scores = ScoreMatrices.ToDictionary(name => name, _ => new double?[spec.Stages.Count, spec.Stages.Count]);
        var perFact = new Dictionary<string, List<bool>>[spec.Stages.Count];
        for (int j = 0; j < sets.Count; j++) perFact[j] = sets[j].ToDictionary(e => e.Id, _ => new List<bool>());
        string previous = spec.BaseModel;
        if (spec.Joint) return provenance.Complete(RunJoint(runDir, seed, sets, scoredBy, matrix, scores, perFact, cancellation));

        for (int i = 0; i < spec.Stages.Count; i++)
        {
            var stage = spec.Stages[i];
            var stageDir = StageDirectory(runDir, i + 1, stage.Name);
            var evalPath = Path.Combine(stageDir, "evaluation.json");
            if (!File.Exists(evalPath))
            {
                // A signal that came during the previous stage's evaluation stops the run here, before any training.
                if (cancellation.IsCancellationRequested) throw new OperationCanceledException($"before stage {stage.Name} (the stages before it are done)");
                var shared = SharedStages is null ? null : Path.Combine(SharedStages, StageKey(i, seed));
                if (shared is not null && File.Exists(Path.Combine(shared, "final", "config.json")))
                {
                    AtomicDirectory.Write(stageDir, tmp => CopyTraining(shared, tmp));
                    Progress?.Message($"stage {stage.Name}: this training was already done; reusing {shared}");
                }
                else
                {
                    // The trained model is evaluated as it is in memory, not loaded again from final/, and the sets the
                    // trainer has just evaluated on these final weights are not evaluated again.
                    int index = i;
                    var trained = TrainStage(stage, i, sets, previous, stageDir, seed, cancellation,
                        (model, result) => EvaluateStage(model, sets, stageDir, evalPath, stage.Lora is null ? FinalEvaluations(result, index) : null));
                    if (trained.Interrupted) throw Interrupted($"stage {stage.Name}", trained);
                    if (shared is not null) AtomicDirectory.Write(shared, tmp => CopyTraining(stageDir, tmp));
                }
                if (!File.Exists(evalPath)) EvaluateStage(Path.Combine(stageDir, "final"), sets, stageDir, evalPath);
            }
            ReadEvaluation(evalPath, [i], scoredBy, matrix, scores, perFact);
            Progress?.Message($"after stage {stage.Name}: " + string.Join(", ", spec.Stages.Select((s, j) => $"{s.Name} {matrix[i, j]:P1}")));
            previous = Path.Combine(stageDir, "final");
        }

        return provenance.Complete(WriteResults(runDir, matrix, Results(matrix, scores, perFact, seed, scoredBy), scoredBy));
    }

    /// <summary>A hash of everything that makes the training of stage <paramref name="index"/> what it is for this seed.</summary>
    string StageKey(int index, int seed)
    {
        static string Files(IEnumerable<string> paths) => string.Join('|', paths.Select(Path.GetFullPath));
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{Path.GetFullPath(spec.BaseModel)} {spec.Device} {spec.DType} seed {seed}");
        foreach (var s in spec.Stages.Take(index + 1))
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{s.Name} {Files(s.Data.Select(d => d.File))}{string.Concat(s.Data.Where(d => d != new DataSpec(d.File)).Select(d => $" {d}"))} {s.Limit} mix [{string.Join("; ", s.Mix.Select(m => m with { File = m.File is null ? null : Path.GetFullPath(m.File) }))}] {s.Replay} {s.Regularizer} lora [{s.Lora?.Rank} {s.Lora?.Alpha} {string.Join(',', s.Lora?.Targets ?? [])}] {s.Recipe with { SaveEvery = 0, KeepCheckpoints = false }}");
        return $"{index + 1}-{spec.Stages[index].Name}-{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..16]}";
    }

    /// <summary>
    /// What a stage's training wrote — the final model, its logs and the predictions of its own
    /// evaluations — without the checkpoints and without the run's evaluation after the stage (each run
    /// evaluates its own sets).
    /// </summary>
    static void CopyTraining(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            var top = relative.Split(Path.DirectorySeparatorChar)[0];
            if (top is "checkpoints" or "logit-lens" or "evaluation.json" || top.StartsWith("eval-", StringComparison.Ordinal)) continue;
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>Every score recorded as a matrix like R (results.json: NAME_matrix), exact-match accuracy first.</summary>
    public static readonly string[] ScoreMatrices = ["accuracy", "rouge_l", "token_accuracy", "gold_logprob"];

    /// <summary>
    /// The score a set is judged by in R and its summaries: exact-match accuracy for factoids, ROUGE-L for a set
    /// mostly without gold answers (worked solutions, conversations), whose accuracy would be 0 by construction.
    /// </summary>
    static string ScoredBy(List<Example> set) => set.Count(e => e.Answers.Count > 0) * 2 >= set.Count ? "accuracy" : "rouge_l";

    /// <summary>Reads a stage's evaluation.json into the given rows (the joint run fills every row from one evaluation).</summary>
    void ReadEvaluation(string evalPath, int[] rows, string[] scoredBy, AccuracyMatrix matrix, Dictionary<string, double?[,]> scores, Dictionary<string, List<bool>>[] perFact)
    {
        using var doc = JsonFields.ParseFile(evalPath);
        for (int j = 0; j < spec.Stages.Count; j++)
        {
            var set = doc.RootElement.GetProperty(spec.Stages[j].Name);
            foreach (int i in rows)
            {
                matrix[i, j] = set.GetProperty(scoredBy[j]).GetDouble();
                foreach (var (name, values) in scores)
                    values[i, j] = set.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
                foreach (var p in set.GetProperty("correct").EnumerateObject()) perFact[j][p.Name].Add(p.Value.GetBoolean());
            }
        }
    }

    /// <summary>results.json, results.csv, results.md, then the DONE marker last.</summary>
    ExperimentResults WriteResults(string runDir, AccuracyMatrix matrix, ExperimentResults results, string[] scoredBy)
    {
        results.Write(Path.Combine(runDir, ExperimentResults.FileName));
        var columns = spec.Stages.Zip(scoredBy, (s, by) => by == "rouge_l" ? $"{s.Name} (ROUGE-L)" : s.Name).ToList();
        AtomicFile.WriteAllText(Path.Combine(runDir, "results.csv"), Csv(matrix, columns));
        AtomicFile.WriteAllText(Path.Combine(runDir, "results.md"), Markdown(matrix, columns));
        AtomicFile.WriteAllText(Path.Combine(runDir, DoneMarker), DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture) + "\n");
        return results;
    }

    ExperimentResults RunJoint(string runDir, int seed, List<List<Example>> sets, string[] scoredBy, AccuracyMatrix matrix, Dictionary<string, double?[,]> scores, Dictionary<string, List<bool>>[] perFact, CancellationToken cancellation)
    {
        var joint = spec.Stages[0] with
        {
            Name = "joint", Data = [.. spec.Stages.SelectMany(s => s.Data)], Limit = null,
            Mix = [.. spec.Stages.SelectMany(s => s.Mix)], Replay = null,
        };
        var stageDir = StageDirectory(runDir, 1, "joint");
        var evalPath = Path.Combine(stageDir, "evaluation.json");
        var all = sets.SelectMany(s => s).ToList();
        if (!File.Exists(evalPath))
        {
            // The trainer's own evaluation is of all the data at once, not of each stage's set: nothing to reuse.
            var trained = TrainStage(joint, 0, [all, .. sets], spec.BaseModel, stageDir, seed, cancellation, (model, _) => EvaluateStage(model, sets, stageDir, evalPath, null));
            if (trained.Interrupted) throw Interrupted("the joint stage", trained);
        }
        ReadEvaluation(evalPath, [.. Enumerable.Range(0, sets.Count)], scoredBy, matrix, scores, perFact);
        return WriteResults(runDir, matrix, Results(matrix, scores, perFact, seed, scoredBy) with { Joint = true }, scoredBy);
    }

    static OperationCanceledException Interrupted(string where, TrainingResult result) =>
        new($"in {where} at step {result.Steps}; checkpoint saved");

    /// <summary>
    /// Trains one stage from <paramref name="previous"/>; unless interrupted (or found finished by an earlier run, whose
    /// final model the caller evaluates from disk), hands the trained model (LoRA merged) and how the training ended to
    /// <paramref name="afterTraining"/>.
    /// </summary>
    TrainingResult TrainStage(StageSpec stage, int index, List<List<Example>> sets, string previous, string stageDir, int seed, CancellationToken cancellation,
        Action<LoadedModel, TrainingResult> afterTraining)
    {
        var options = stage.Recipe with { Seed = stage.Recipe.Seed + seed, KeepCheckpoints = stage.Recipe.KeepCheckpoints || KeepCheckpoints };
        var examples = TrainingSet(stage, index, sets, options.Seed);

        using var loaded = LoadedModel.Load(previous, spec.Device, spec.DType);
        if (loaded.Adapter is { } applied) Progress?.Message($"stage {stage.Name}: applied {applied}; training starts from the merged model");
        var regularizers = new List<Regularizer>();
        try
        {
            if (stage.Lora is { } lora) Lora.Attach(loaded.Model, lora.Rank, lora.Alpha, lora.Targets, options.Seed);
            if (stage.Regularizer is { } r)
                regularizers.Add(Regularizer.Create(r.Type, r.Strength, loaded, previous, index > 0 ? sets[index - 1] : sets[index], options.MaxLength));
            var trainer = new Trainer(loaded.Model, loaded.Tokenizer, loaded.StopTokenIds, options) { Progress = Progress, Regularizers = regularizers };
            var result = trainer.Train(new TrainingRun
            {
                Examples = examples, MemorizedSet = sets[index], OutDir = stageDir, TokenizerSource = previous, CommandLine = CommandLine,
                // Earlier stages' sets during this stage (the forgetting curve), when the recipe asks for it.
                EvalSets = options.EvalEvery > 0 ? [.. Enumerable.Range(0, index).Select(j => (spec.Stages[j].Name, (IReadOnlyList<Example>)sets[j]))] : [],
                Resume = true, // a stage folder is the runner's own: whatever it holds was left by an earlier run of this stage
            }, cancellation);
            if (result.Interrupted || result.AlreadyFinished) return result;
            if (stage.Lora is not null)
                Lora.MergeAndSave(loaded.Model, result.FinalModelDirectory!, previous); // the next stage starts from full weights
            afterTraining(loaded, result);
            return result;
        }
        finally
        {
            foreach (var r in regularizers) r.Dispose();
        }
    }

    /// <summary>
    /// Stage <paramref name="index"/>'s training set: its own data, then its mixing and replay shares. The draws depend
    /// on the stage's position as well as on <paramref name="seed"/>, so that two stages mixing from the same source
    /// (random words in both, or the same generic corpus) get different examples rather than the same ones again.
    /// </summary>
    internal List<Example> TrainingSet(StageSpec stage, int index, List<List<Example>> sets, int seed)
    {
        var shares = new List<MixingShare>();
        foreach (var mix in stage.Mix)
            shares.Add(new MixingShare(mix.CreateSource(), mix.Ratio));
        if (stage.Replay is { } replay)
            shares.Add(MixingShare.Replay(sets[spec.Stages.ToList().FindIndex(s => s.Name == replay.Stage)], replay.Fraction));
        return DataMixer.Mix(sets[index], shares, seed + 1_000_003 * index);
    }

    void EvaluateStage(string model, List<List<Example>> sets, string stageDir, string evalPath)
    {
        using var loaded = LoadedModel.Load(model, spec.Device, spec.DType);
        EvaluateStage(loaded, sets, stageDir, evalPath, null);
    }

    /// <summary>
    /// The evaluations stage <paramref name="index"/>'s trainer made on its final weights, by stage name: the earlier
    /// sets it tracked and, when the accuracy stop rule's last check was on the final weights, the stage's own set.
    /// The trainer's evaluator has the same settings as <see cref="EvaluateStage(LoadedModel, List{List{Example}}, string, string, IReadOnlyDictionary{string, EvaluationResult}?)"/>'s,
    /// so these are the results it would compute again.
    /// </summary>
    Dictionary<string, EvaluationResult> FinalEvaluations(TrainingResult result, int index)
    {
        var done = result.Evaluations.ToDictionary(e => e.Name);
        if (result.MemorizedEvaluation is { } own) done[spec.Stages[index].Name] = own;
        return done;
    }

    /// <summary>
    /// Evaluates every stage's set with the model (taking those in <paramref name="done"/> as already evaluated on
    /// it), writing the predictions, the optional logit lens and evaluation.json (last).
    /// </summary>
    void EvaluateStage(LoadedModel loaded, List<List<Example>> sets, string stageDir, string evalPath, IReadOnlyDictionary<string, EvaluationResult>? done)
    {
        var evaluator = new Evaluator(loaded);
        var summary = new JsonObject();
        for (int j = 0; j < sets.Count; j++)
        {
            var result = done?.GetValueOrDefault(spec.Stages[j].Name) ?? evaluator.Evaluate(spec.Stages[j].Name, sets[j]);
            Evaluator.WritePredictions(Path.Combine(stageDir, PredictionsFile(spec.Stages[j].Name)), result.Predictions);
            var scores = new JsonObject(result.Scores().Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)))
            {
                ["correct"] = new JsonObject(result.Predictions.Select(p => KeyValuePair.Create(p.Id, (JsonNode?)p.Correct))),
            };
            summary[spec.Stages[j].Name] = scores;
        }
        if (spec.LogitLens)
        {
            var lens = new Analysis.LogitLens(loaded);
            for (int j = 0; j < sets.Count; j++)
                if (sets[j].Any(e => e.Answers.Count > 0))
                    Analysis.LensReport.Write([lens.Analyze(spec.Stages[j].Name, [.. sets[j].Where(e => e.Answers.Count > 0)])], Path.Combine(stageDir, "logit-lens", spec.Stages[j].Name));
        }
        // Written last: its presence marks the stage as evaluated.
        AtomicFile.WriteAllText(evalPath, summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The predictions of set <paramref name="setName"/> in the folder of the stage after which it was evaluated.</summary>
    static string PredictionsFile(string setName) => $"eval-{setName}.predictions.jsonl";

    static IReadOnlyList<IReadOnlyList<double?>> Rows(int stages, Func<int, int, double?> value) =>
        [.. Enumerable.Range(0, stages).Select(i => (IReadOnlyList<double?>)[.. Enumerable.Range(0, stages).Select(j => value(i, j))])];

    ExperimentResults Results(AccuracyMatrix m, Dictionary<string, double?[,]> scores, Dictionary<string, List<bool>>[] perFact, int seed, string[] scoredBy)
    {
        var names = spec.Stages.Select(s => s.Name).ToList();
        // The per-fact predictions behind R[i][j], relative to the run folder (the joint run's one evaluation fills every row).
        string Predictions(int i, string set) => $"{(spec.Joint ? StageDirectory("", 1, "joint") : StageDirectory("", i + 1, names[i]))}/{PredictionsFile(set)}";
        IReadOnlyList<IReadOnlyList<double?>> Scores(string name) => Rows(m.Stages, (i, j) => scores[name][i, j]);
        return new ExperimentResults
        {
            Name = spec.Name,
            Seed = seed,
            Stages = names,
            // Factoid sets are scored by accuracy; sets without gold answers (worked solutions) by ROUGE-L.
            ScoredBy = scoredBy,
            ScoreMatrix = Rows(m.Stages, (i, j) => m[i, j]),
            Forgetting = names.Select((n, j) => (n, m.Forgetting(j))).ToDictionary(x => x.n, x => x.Item2),
            Retention = names.Select((n, j) => (n, m.Retention(j))).ToDictionary(x => x.n, x => x.Item2),
            BackwardTransfer = m.BackwardTransfer(),
            FinalAverage = m.FinalAverage(),
            Facts = names.Select((n, j) => (n, (IReadOnlyDictionary<string, FactOutcome>)perFact[j].ToDictionary(kv => kv.Key,
                kv => new FactOutcome { CorrectAfterStage = kv.Value, ForgottenAtStage = ForgottenAt(kv.Value, j) is { } k ? names[k] : null })))
                .ToDictionary(x => x.n, x => x.Item2),
            PredictionsAfterStage = names.Select((stage, i) => (stage, (IReadOnlyDictionary<string, string>)names.ToDictionary(set => set, set => Predictions(i, set))))
                .ToDictionary(x => x.stage, x => x.Item2),
            AccuracyMatrix = Scores("accuracy"),
            RougeLMatrix = Scores("rouge_l"),
            TokenAccuracyMatrix = Scores("token_accuracy"),
            GoldLogprobMatrix = Scores("gold_logprob"),
        };
    }

    /// <summary>The first stage after the one that taught a fact at which it was answered wrongly, if it had been right.</summary>
    static int? ForgottenAt(List<bool> correct, int learnedAt)
    {
        if (learnedAt >= correct.Count || !correct[learnedAt]) return null;
        for (int k = learnedAt + 1; k < correct.Count; k++) if (!correct[k]) return k;
        return null;
    }

    string Csv(AccuracyMatrix m, IReadOnlyList<string> columns)
    {
        var sb = new StringBuilder("after_stage," + string.Join(',', columns) + "\n");
        for (int i = 0; i < m.Stages; i++)
            sb.Append(spec.Stages[i].Name).Append(',').AppendJoin(',', Enumerable.Range(0, m.Stages).Select(j => m[i, j]?.ToString("F4", CultureInfo.InvariantCulture) ?? "")).Append('\n');
        return sb.ToString();
    }

    string Markdown(AccuracyMatrix m, IReadOnlyList<string> columns)
    {
        var sb = new StringBuilder($"# {spec.Name}\n\nAccuracy on each stage's set (columns; ROUGE-L where marked, for sets without gold answers) after each stage (rows):\n\n");
        sb.Append("| after \\ on | ").AppendJoin(" | ", columns).Append(" |\n|---|").Append(string.Concat(spec.Stages.Select(_ => "---:|"))).Append('\n');
        for (int i = 0; i < m.Stages; i++)
            sb.Append("| ").Append(spec.Stages[i].Name).Append(" | ").AppendJoin(" | ", Enumerable.Range(0, m.Stages).Select(j => m[i, j]?.ToString("P1", CultureInfo.InvariantCulture) ?? "")).Append(" |\n");
        sb.Append($"\nForgetting: {string.Join(", ", spec.Stages.Select((s, j) => $"{s.Name} {m.Forgetting(j):P1}"))}; backward transfer {m.BackwardTransfer():+0.000;-0.000}; final average {m.FinalAverage():P1}.\n");
        return sb.ToString();
    }
}
