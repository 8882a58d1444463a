using System.Globalization;
using Remix.Checkpoints;
using Remix.IO;
using Remix.Models;

namespace Remix.Training;

/// <summary>
/// Checkpoints under <c>OUT/checkpoints/step-N/</c>: the model in Hugging Face layout (with the
/// tokenizer files and, under LoRA, the adapter), <c>optimizer.safetensors</c> and <c>trainer_state.json</c>. A checkpoint is
/// written into a temporary folder and renamed, so a kill never leaves a half-written one.
/// </summary>
public static class TrainingCheckpoint
{
    public const string OptimizerFileName = "optimizer.safetensors";

    public static string Directory(string outDir, int step) => Path.Combine(outDir, "checkpoints", $"step-{step}");

    public static void Save(string outDir, LlamaForCausalLM model, AdamW optimizer, TrainerState state, string? tokenizerSource)
    {
        AtomicDirectory.Write(Directory(outDir, state.Step), tmp =>
        {
            HfCheckpoint.Save(model, tmp, tokenizerSource, saveDtype: model.DType);
            if (Lora.HasAdapters(model)) PeftAdapter.Save(model, tmp);
            optimizer.Save(Path.Combine(tmp, OptimizerFileName));
            state.Save(Path.Combine(tmp, TrainerState.FileName));
        });
    }

    /// <summary>The checkpoint with the most steps, or null.</summary>
    public static string? Latest(string outDir)
    {
        var root = Path.Combine(outDir, "checkpoints");
        if (!System.IO.Directory.Exists(root)) return null;
        return System.IO.Directory.EnumerateDirectories(root, "step-*")
            .Select(d => (Dir: d, Ok: int.TryParse(Path.GetFileName(d)["step-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int n), Step: n))
            .Where(x => x.Ok && File.Exists(Path.Combine(x.Dir, TrainerState.FileName)))
            .OrderByDescending(x => x.Step)
            .Select(x => x.Dir)
            .FirstOrDefault();
    }

    /// <summary>
    /// Restores model weights and, when <paramref name="optimizer"/> is given, its moments; returns the saved state.
    /// Also reads a run's <c>final/</c> folder, which holds the final weights and state but no optimizer.
    /// </summary>
    public static TrainerState Load(string checkpointDir, LlamaForCausalLM model, AdamW? optimizer)
    {
        HfCheckpoint.LoadWeightsInto(model, checkpointDir);
        if (File.Exists(Path.Combine(checkpointDir, PeftAdapter.WeightsFile))) PeftAdapter.Load(model, checkpointDir);
        optimizer?.Load(Path.Combine(checkpointDir, OptimizerFileName));
        return TrainerState.Load(Path.Combine(checkpointDir, TrainerState.FileName));
    }

    /// <summary>Whether <c>OUT/final/</c> holds the final weights with the state that produced them (a run stopped during its closing evaluation).</summary>
    public static bool HasFinalWeights(string outDir) => File.Exists(Path.Combine(outDir, "final", TrainerState.FileName));

    /// <summary>The state of a finished training (<c>OUT/trainer_state.json</c>, written last), or null.</summary>
    public static TrainerState? Finished(string outDir)
    {
        var path = Path.Combine(outDir, TrainerState.FileName);
        return File.Exists(path) && TrainerState.Load(path) is { Finished: true } state ? state : null;
    }

    /// <summary>Whether a run directory holds anything a resume continues from: checkpoints, final weights or a finished training.</summary>
    public static bool CanResume(string outDir) => Latest(outDir) is not null || HasFinalWeights(outDir) || Finished(outDir) is not null;

    /// <summary>
    /// Marks a training finished (<c>OUT/trainer_state.json</c>) once its final model and evaluations are written, then
    /// drops its checkpoints, optimizer state included, unless <paramref name="keepCheckpoints"/>: at 8B parameters they
    /// are over 100 GB a stage, and nothing resumes from them any more.
    /// </summary>
    public static void MarkFinished(string outDir, TrainerState state, bool keepCheckpoints)
    {
        state.Save(Path.Combine(outDir, TrainerState.FileName));
        var root = Path.Combine(outDir, "checkpoints");
        if (keepCheckpoints || !System.IO.Directory.Exists(root)) return;
        // Only the checkpoints this trainer writes; anything else a user keeps there stays.
        foreach (var checkpoint in System.IO.Directory.EnumerateDirectories(root, "step-*").ToList())
            if (File.Exists(Path.Combine(checkpoint, TrainerState.FileName))) System.IO.Directory.Delete(checkpoint, recursive: true);
        if (!System.IO.Directory.EnumerateFileSystemEntries(root).Any()) System.IO.Directory.Delete(root);
    }
}
