using System.Globalization;
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
            if (Lora.HasAdapters(model)) Lora.SaveAdapter(model, tmp);
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

    /// <summary>Restores model weights and optimizer moments; returns the saved state.</summary>
    public static TrainerState Load(string checkpointDir, LlamaForCausalLM model, AdamW optimizer)
    {
        HfCheckpoint.LoadWeightsInto(model, checkpointDir);
        if (File.Exists(Path.Combine(checkpointDir, Lora.AdapterWeightsFile))) Lora.LoadAdapter(model, checkpointDir);
        optimizer.Load(Path.Combine(checkpointDir, OptimizerFileName));
        return TrainerState.Load(Path.Combine(checkpointDir, TrainerState.FileName));
    }
}
