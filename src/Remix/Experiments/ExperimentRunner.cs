using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Data.Mixing;
using Remix.Data;
using Remix.Evaluation;
using Remix.IO;
using Remix.Models;
using Remix.Training;
using static Remix.Experiments.RunLayout;

namespace Remix.Experiments;

/// <summary>
/// Runs an <see cref="ExperimentSpec"/> for one seed, stage by stage: each stage fine-tunes the
/// previous stage's model, then every stage's set is evaluated, filling the accuracy matrix
/// R[i][j]. The run directory holds the config snapshot, one folder per stage (a training run
/// with its predictions and the <see cref="StageKey"/> it was trained under), <c>results.json</c>,
/// <c>results.csv</c>, <c>results.md</c> and a <c>DONE</c> marker; a finished run is not redone
/// and an interrupted one resumes, as long as its stages' keys are this spec's.
/// </summary>
public sealed class ExperimentRunner(ExperimentSpec spec)
{
    public ProgressReporter? Progress { get; init; }

    /// <summary>
    /// A folder where finished stage trainings are kept under their <see cref="StageKey"/> (base model and data by
    /// content, this and every earlier stage's spec, seed, device, dtype, threads), so runs that begin the same way —
    /// the demo's conditions share stage 1 — train that stage once; each run still evaluates its own sets after it.
    /// </summary>
    public string? SharedStages { get; init; }

    /// <summary>Keep every stage's checkpoints (with optimizer state) after it finishes, whatever its recipe says.</summary>
    public bool KeepCheckpoints { get; init; }

    /// <summary>
    /// Refuse, in one line naming the stage and what changed, instead of retraining a stage of the run folder that was
    /// trained under another key; nothing is written then.
    /// </summary>
    public bool NoRetrain { get; init; }

    /// <summary>
    /// The file where the content hashes of the base model and data files are kept between runs; by default
    /// <see cref="RunLayout.HashCacheFileName"/> in <see cref="SharedStages"/>, or else in the run folder.
    /// </summary>
    public string? HashCache { get; init; }

    /// <summary>The command line recorded in provenance.json of the run folder and its stages; by default this process's arguments.</summary>
    public IReadOnlyList<string>? CommandLine { get; init; }

    static readonly string[] ResultFiles = ["results.json", "results.csv", "results.md"];

    FileHashCache? _hashes;

    /// <summary>
    /// Runs seed <paramref name="seed"/> into <paramref name="runDir"/>. A stage found there trained under the same
    /// <see cref="StageKey"/> is reused (or resumed, if its training was interrupted); from the first stage trained under
    /// another key (or before stages were keyed) on, the stage folders are replaced, saying which stage changed and how
    /// (or, with <see cref="NoRetrain"/>, refusing). A finished run whose stages all match is returned as it is.
    /// </summary>
    public ExperimentResults Run(string runDir, int seed, CancellationToken cancellation = default)
    {
        var hashes = Hashes(runDir);
        int threads = TorchSharp.torch.get_num_threads();
        StageKey[] keys = spec.Joint ? [StageKey.ForJoint(spec, seed, hashes, threads)]
            : [.. spec.Stages.Select((_, i) => StageKey.ForStage(spec, i, seed, hashes, threads))];
        var evaluationKeys = keys.Select(k => StageKey.ForEvaluation(spec, k, hashes)).ToArray();
        string[] names = spec.Joint ? ["joint"] : [.. spec.Stages.Select(s => s.Name)];
        string[] dirs = [.. names.Select((n, i) => StageDirectory(runDir, i + 1, n))];

        var change = FirstChange(runDir, dirs, names, keys);
        var resultsPath = Path.Combine(runDir, ExperimentResults.FileName);
        var configPath = Path.Combine(runDir, ConfigSnapshot);
        // A spec edited only where no key looks (its name, save_every) trains nothing, but its results and snapshot are written again.
        if (change is null && File.Exists(Path.Combine(runDir, DoneMarker)) && File.Exists(resultsPath)
            && File.Exists(configPath) && File.ReadAllText(configPath) == spec.Json
            && dirs.Select((d, i) => EvaluationCurrent(d, evaluationKeys[i])).All(current => current))
        {
            hashes.Save();
            return ExperimentResults.Read(resultsPath);
        }
        if (change is not null)
        {
            if (NoRetrain)
                throw new InvalidInputException("--no-retrain", $"{change.Reason}; the folder holds another experiment's results: leave out --no-retrain to {change.Action}, or choose another --out");
            Progress?.Message($"{change.Reason}: {change.Doing}");
        }
        hashes.Save();

        Directory.CreateDirectory(runDir);
        using var provenance = Runtime.RunProvenance.Begin(runDir, spec.Device, spec.DType, CommandLine, cancellation, spec.Kernels);
        // DONE first: a folder without it is a run in progress, and its old results are not left to be read as this run's.
        foreach (var file in ResultFiles.Prepend(DoneMarker)) File.Delete(Path.Combine(runDir, file));
        // Later stages first: were this stopped half way, the stages left still start with the changed one.
        foreach (var stale in change?.Remove ?? []) AtomicDirectory.Delete(stale);
        // The snapshot describes what the folder holds: every stage left in it now matches this spec.
        if (!File.Exists(configPath) || File.ReadAllText(configPath) != spec.Json) AtomicFile.WriteAllText(configPath, spec.Json);

        var sets = spec.Stages.Select(s => s.ReadSet()).ToList();
        string[] scoredBy = [.. sets.Select(ScoredBy)];
        var matrix = new AccuracyMatrix(spec.Stages.Count);
        var scores = ScoreMatrices.ToDictionary(name => name, _ => new double?[spec.Stages.Count, spec.Stages.Count]);
        var perFact = new Dictionary<string, List<bool>>[spec.Stages.Count];
        for (int j = 0; j < sets.Count; j++) perFact[j] = sets[j].ToDictionary(e => e.Id, _ => new List<bool>());
        string previous = spec.BaseModel;
        if (spec.Joint) return provenance.Complete(RunJoint(runDir, seed, keys[0], evaluationKeys[0], sets, scoredBy, matrix, scores, perFact, cancellation));

        for (int i = 0; i < spec.Stages.Count; i++)
        {
            var stage = spec.Stages[i];
            var stageDir = dirs[i];
            var evalPath = Path.Combine(stageDir, "evaluation.json");
            if (!EvaluationCurrent(stageDir, evaluationKeys[i]))
            {
                // A signal that came during the previous stage's evaluation stops the run here, before any training.
                if (cancellation.IsCancellationRequested) throw new OperationCanceledException($"before stage {stage.Name} (the stages before it are done)");
                ForgetEvaluation(stageDir);
                var shared = SharedStages is null ? null : Path.Combine(SharedStages, $"{i + 1}-{stage.Name}-{keys[i].Hash[..16]}");
                if (TrainingCheckpoint.Finished(stageDir) is not null)
                {
                    // Trained by an earlier run under this key; only its evaluation is missing, or is of sets that have changed since.
                }
                else if (shared is not null && File.Exists(Path.Combine(shared, "final", "config.json"))
                    && StageKey.Read(Path.Combine(shared, StageKey.FileName))?.Hash == keys[i].Hash)
                {
                    AtomicDirectory.Write(stageDir, tmp => CopyTraining(shared, tmp));
                    Progress?.Message($"stage {stage.Name}: this training was already done; reusing {shared}");
                }
                else
                {
                    RecordKey(stageDir, keys[i]);
                    // The trained model is evaluated as it is in memory, not loaded again from final/, and the sets the
                    // trainer has just evaluated on these final weights are not evaluated again.
                    int index = i;
                    var trained = TrainStage(stage, i, sets, previous, stageDir, seed, cancellation,
                        (model, result) => EvaluateStage(model, sets, stageDir, evaluationKeys[index], stage.Lora is null ? FinalEvaluations(result) : null));
                    if (trained.Interrupted) throw Interrupted($"stage {stage.Name}", trained);
                    if (shared is not null) StoreShared(shared, stageDir, keys[i], stage.Name);
                }
                if (!File.Exists(evalPath)) EvaluateStage(Path.Combine(stageDir, "final"), DTypeOf(stage), sets, stageDir, evaluationKeys[i]);
            }
            ReadEvaluation(evalPath, [i], scoredBy, matrix, scores, perFact);
            Progress?.Message($"after stage {stage.Name}: " + string.Join(", ", spec.Stages.Select((s, j) => $"{s.Name} {matrix[i, j]:P1}")));
            previous = Path.Combine(stageDir, "final");
        }

        return provenance.Complete(WriteResults(runDir, matrix, Results(matrix, scores, perFact, seed, scoredBy), scoredBy));
    }

    /// <summary>
    /// Keeps a finished stage training in the shared folder. Another process may have trained the same stage at the same
    /// time: the first complete copy stays and this one is dropped (they were trained under the same key); a folder there
    /// that is not a complete training under this key is replaced.
    /// </summary>
    void StoreShared(string shared, string stageDir, StageKey key, string stageName)
    {
        if (Directory.Exists(shared) && !(File.Exists(Path.Combine(shared, "final", "config.json"))
            && StageKey.Read(Path.Combine(shared, StageKey.FileName))?.Hash == key.Hash))
            AtomicDirectory.Delete(shared);
        if (!AtomicDirectory.WriteOnce(shared, tmp => CopyTraining(stageDir, tmp)))
            Progress?.Message($"stage {stageName}: {shared} was stored meanwhile by another run; keeping that copy");
    }

    /// <summary>The hash cache of this run folder, kept in memory between the seeds of one runner.</summary>
    FileHashCache Hashes(string runDir)
    {
        var path = Path.GetFullPath(HashCache ?? Path.Combine(SharedStages ?? runDir, HashCacheFileName));
        if (_hashes?.CacheFile != path)
            _hashes = new FileHashCache(path)
            {
                BeforeHashing = (file, size) => Progress?.Message($"hashing {file} ({size / 1e9:F1} GB) for the stage keys, once: the hash is kept in {path}"),
            };
        return _hashes;
    }

    /// <summary>
    /// Why a run folder's stages are not all this spec's (<c>stage A changed (recipe.lr 0.002 -> 0.001)</c>), what is done
    /// about it (<c>retrain it and the stages after it</c>, <c>retraining ...</c>), and the stage folders that go.
    /// </summary>
    sealed record Change(string Reason, string Action, string Doing, IReadOnlyList<string> Remove);

    static readonly System.Text.RegularExpressions.Regex StageFolder = new(@"^stage-(\d+)-.+$");

    /// <summary>
    /// The first stage of the run folder that is not what this spec would train, with it and every later stage folder
    /// to remove (each was trained from the one before), or null when every stage there matches.
    /// </summary>
    Change? FirstChange(string runDir, string[] dirs, string[] names, StageKey[] keys)
    {
        (int Index, string Reason)? first = null;
        for (int i = 0; i < dirs.Length && first is null; i++)
        {
            if (!Directory.Exists(dirs[i])) continue;
            var recorded = StageKey.Read(Path.Combine(dirs[i], StageKey.FileName));
            if (recorded is null)
            {
                // An empty folder holds nothing to be wrong about; one with outputs and no key was trained before stages were keyed.
                if (Directory.EnumerateFileSystemEntries(dirs[i]).Any())
                    first = (i, $"stage {names[i]} has no {StageKey.FileName} (it was trained before stages were keyed by content)");
            }
            else if (recorded.Hash != keys[i].Hash)
                first = (i, $"stage {names[i]} changed ({keys[i].Difference(recorded, spec.Joint ? "" : StageKey.Prefix(i))})");
        }
        // Folders of stages this spec does not have (renamed, removed, or a joint run's for a staged one) belong to another experiment.
        var others = (Directory.Exists(runDir) ? Directory.EnumerateDirectories(runDir, "stage-*") : [])
            .Select(d => (Dir: d, Match: StageFolder.Match(Path.GetFileName(d))))
            .Where(d => d.Match.Success && !dirs.Select(Path.GetFileName).Contains(Path.GetFileName(d.Dir)))
            .Select(d => (d.Dir, Index: int.Parse(d.Match.Groups[1].Value, CultureInfo.InvariantCulture) - 1))
            .Where(d => d.Index >= 0).OrderBy(d => d.Index).ToList();
        if (others.Count > 0 && (first is null || others[0].Index < first.Value.Index))
            first = (others[0].Index, others[0].Index < dirs.Length
                ? $"stage {names[others[0].Index]} changed (its folder was {Path.GetFileName(others[0].Dir)})"
                : $"{Path.GetFileName(others[0].Dir)} is not a stage of this spec");
        if (first is not { } f) return null;
        var remove = dirs.Select((d, i) => (Dir: d, Index: i)).Where(d => d.Index >= f.Index && Directory.Exists(d.Dir))
            .Concat(others.Where(o => o.Index >= f.Index)).OrderByDescending(d => d.Index).Select(d => d.Dir).ToList();
        var (action, doing) = f.Index >= dirs.Length ? ("remove it", "removing it")
            : f.Index == dirs.Length - 1 ? ("retrain it", "retraining it") : ("retrain it and the stages after it", "retraining it and the stages after it");
        return new Change(f.Reason, action, doing, remove);
    }

    /// <summary>Whether a stage folder holds an evaluation made under <paramref name="key"/>: of this stage's training, on the current sets.</summary>
    static bool EvaluationCurrent(string stageDir, StageKey key) =>
        File.Exists(Path.Combine(stageDir, "evaluation.json")) && StageKey.Read(Path.Combine(stageDir, StageKey.EvaluationFileName))?.Hash == key.Hash;

    /// <summary>Removes a stage's evaluation (evaluation.json first, the mark of an evaluated stage), keeping its training.</summary>
    static void ForgetEvaluation(string stageDir)
    {
        if (!Directory.Exists(stageDir)) return;
        File.Delete(Path.Combine(stageDir, "evaluation.json"));
        File.Delete(Path.Combine(stageDir, StageKey.EvaluationFileName));
        foreach (var predictions in Directory.EnumerateFiles(stageDir, PredictionsFile("*"))) File.Delete(predictions);
        if (Directory.Exists(Path.Combine(stageDir, "logit-lens"))) AtomicDirectory.Delete(Path.Combine(stageDir, "logit-lens"));
    }

    /// <summary>Records the key a stage's training starts under, before it starts, so that an interrupted stage is known too; a recorded one is kept.</summary>
    static void RecordKey(string stageDir, StageKey key)
    {
        var path = Path.Combine(stageDir, StageKey.FileName);
        if (StageKey.Read(path) is null) key.Save(path);
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
            if (top is "checkpoints" or "logit-lens" or "evaluation.json" or StageKey.EvaluationFileName || top.StartsWith("eval-", StringComparison.Ordinal)) continue;
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

    ExperimentResults RunJoint(string runDir, int seed, StageKey key, StageKey evaluationKey, List<List<Example>> sets, string[] scoredBy, AccuracyMatrix matrix,
        Dictionary<string, double?[,]> scores, Dictionary<string, List<bool>>[] perFact, CancellationToken cancellation)
    {
        var joint = spec.Stages[0] with
        {
            Name = "joint", Data = [.. spec.Stages.SelectMany(s => s.Data)], Limit = null,
            Mix = [.. spec.Stages.SelectMany(s => s.Mix)], Replay = null,
        };
        var stageDir = StageDirectory(runDir, 1, "joint");
        var evalPath = Path.Combine(stageDir, "evaluation.json");
        var all = sets.SelectMany(s => s).ToList();
        if (!EvaluationCurrent(stageDir, evaluationKey))
        {
            ForgetEvaluation(stageDir);
            if (TrainingCheckpoint.Finished(stageDir) is null)
            {
                RecordKey(stageDir, key);
                // The trainer's own evaluation is of all the data at once, not of each stage's set: nothing to reuse.
                var trained = TrainStage(joint, 0, [all, .. sets], spec.BaseModel, stageDir, seed, cancellation, (model, _) => EvaluateStage(model, sets, stageDir, evaluationKey, null));
                if (trained.Interrupted) throw Interrupted("the joint stage", trained);
            }
            if (!File.Exists(evalPath)) EvaluateStage(Path.Combine(stageDir, "final"), DTypeOf(joint), sets, stageDir, evaluationKey);
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
        var options = stage.Recipe with { Seed = Seeds.Stage(stage.Recipe.Seed, seed), KeepCheckpoints = stage.Recipe.KeepCheckpoints || KeepCheckpoints };
        var examples = TrainingSet(stage, index, sets, options.Seed);

        using var loaded = LoadedModel.Load(previous, spec.Device, DTypeOf(stage), kernels: spec.Kernels);
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
                // The accuracy rule asks whether the facts are learned, as remix train's does: the set's factoids.
                Examples = examples, MemorizedSet = [.. sets[index].Where(e => e.Kind == ExampleKind.Factoid)], OutDir = stageDir, TokenizerSource = previous, CommandLine = CommandLine,
                // Earlier stages' sets during this stage (the forgetting curve), when the recipe asks for it.
                EvalSets = options.EvalEvery > 0 ? [.. Enumerable.Range(0, index).Select(j => (spec.Stages[j].Name, (IReadOnlyList<Example>)sets[j]))] : [],
                Resume = true, // a stage folder is the runner's own: whatever it holds was left by an earlier run of this stage
            }, cancellation);
            if (result.Interrupted || result.AlreadyFinished) return result;
            if (stage.Lora is not null)
                PeftAdapter.MergeAndSave(loaded.Model, result.FinalModelDirectory!, previous); // the next stage starts from full weights
            afterTraining(loaded, result);
            return result;
        }
        finally
        {
            foreach (var r in regularizers) r.Dispose();
        }
    }

    /// <summary>
    /// Stage <paramref name="index"/>'s training set: its own data, then its mixing and replay shares, drawn under
    /// <paramref name="seed"/> (the stage's) and its position (see <see cref="Seeds.Mixing"/>).
    /// </summary>
    internal List<Example> TrainingSet(StageSpec stage, int index, List<List<Example>> sets, int seed) =>
        StageTrainingSet.Build(sets[index], stage.Mix,
            stage.Replay is { } replay ? [(replay, sets[spec.Stages.ToList().FindIndex(s => s.Name == replay.Stage)])] : [], seed, index);

    /// <summary>
    /// The dtype a stage's model is loaded in: the spec's, or the one its recipe's precision trains (the spec refused the two
    /// disagreeing). Its evaluation from disk loads in it too, so that it scores the model as the trainer held it.
    /// </summary>
    string DTypeOf(StageSpec stage) => Precisions.DTypeOption(stage.Recipe.Precision, spec.DType);

    void EvaluateStage(string model, string dtype, List<List<Example>> sets, string stageDir, StageKey key)
    {
        using var loaded = LoadedModel.Load(model, spec.Device, dtype, kernels: spec.Kernels);
        EvaluateStage(loaded, sets, stageDir, key, null);
    }

    /// <summary>
    /// The evaluations a stage's trainer made on its final weights, by stage name: the earlier
    /// sets it tracked. The trainer's evaluator has the same settings as <see cref="EvaluateStage(LoadedModel, List{List{Example}}, string, StageKey, IReadOnlyDictionary{string, EvaluationResult}?)"/>'s,
    /// so these are the results it would compute again. The stage's own set is evaluated again even where the accuracy stop
    /// rule's last check was on the final weights: that check has no teacher-forced scores (its exact match is the same).
    /// </summary>
    static Dictionary<string, EvaluationResult> FinalEvaluations(TrainingResult result) => result.Evaluations.ToDictionary(e => e.Name);

    /// <summary>
    /// Evaluates every stage's set with the model (taking those in <paramref name="done"/> as already evaluated on
    /// it), writing the predictions, the optional logit lens, evaluation.json and, last, the key it was made under.
    /// </summary>
    void EvaluateStage(LoadedModel loaded, List<List<Example>> sets, string stageDir, StageKey key, IReadOnlyDictionary<string, EvaluationResult>? done)
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
        // Its presence, with the key written after it, marks the stage as evaluated on these sets.
        AtomicFile.WriteAllText(Path.Combine(stageDir, "evaluation.json"), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        key.Save(Path.Combine(stageDir, StageKey.EvaluationFileName));
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
