using Remix.Data;

namespace Remix.Training;

/// <summary>What one call to <see cref="Trainer.Train"/> trains on and where it writes.</summary>
public sealed record TrainingRun
{
    /// <summary>Every training example, mixing and replay examples included.</summary>
    public IReadOnlyList<Example> Examples { get; init; } = [];

    /// <summary>Already tokenized examples (such as packed pretraining blocks), used instead of encoding <see cref="Examples"/>.</summary>
    public IReadOnlyList<Data.Batching.EncodedExample>? PreEncoded { get; init; }

    /// <summary>The set the accuracy stop rule checks; by default the factoids among <see cref="Examples"/>.</summary>
    public IReadOnlyList<Example>? MemorizedSet { get; init; }

    /// <summary>Sets evaluated every <see cref="TrainingOptions.EvalEvery"/> steps and at the end.</summary>
    public IReadOnlyList<(string Name, IReadOnlyList<Example> Examples)> EvalSets { get; init; } = [];

    /// <summary>The run directory: metrics.jsonl, tensorboard/, checkpoints/, final/.</summary>
    public required string OutDir { get; init; }

    /// <summary>
    /// Continue what <see cref="OutDir"/> holds: the latest checkpoint, or the final weights of a run stopped during its
    /// closing evaluation; a finished training is left as it is. Without it, a directory holding any of these is refused.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>Where the tokenizer and generation files to copy into checkpoints come from.</summary>
    public string? TokenizerSource { get; init; }

    /// <summary>The command line recorded in the run's provenance.json; by default this process's arguments.</summary>
    public IReadOnlyList<string>? CommandLine { get; init; }
}

/// <summary>
/// How a run ended. <see cref="Evaluations"/>: the final evaluation of each of <see cref="TrainingRun.EvalSets"/>;
/// <see cref="MemorizedEvaluation"/>: the accuracy stop rule's evaluation of the memorized set when its last
/// one was made on the final weights (null otherwise, and without that rule); the rule's checks score exact match
/// and ROUGE-L only, without the teacher-forced answer-token accuracy and gold log-probability.
/// </summary>
public sealed record TrainingResult(
    int Steps,
    int Epochs,
    string StopReason,
    bool Interrupted,
    double LastLoss,
    long TokensSeen,
    int DroppedTooLong,
    IReadOnlyList<Evaluation.EvaluationResult> Evaluations,
    Evaluation.EvaluationResult? MemorizedEvaluation,
    string? FinalModelDirectory)
{
    /// <summary>
    /// The run directory held a finished training of the same data and recipe, so nothing was trained or evaluated:
    /// the model in memory is not the final one (read <see cref="FinalModelDirectory"/>) and <see cref="Evaluations"/> is empty.
    /// </summary>
    public bool AlreadyFinished { get; init; }
}
