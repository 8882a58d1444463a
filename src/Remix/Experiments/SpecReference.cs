using System.Globalization;
using System.Text;
using Remix.Data.Bundled;
using Remix.Data;
using Remix.Models;
using Remix.Runtime;
using Remix.Training;

namespace Remix.Experiments;

/// <summary>
/// Every key of an experiment spec with its type, default and meaning: the reference section of the README, printed by
/// <c>remix run --spec-reference</c>. A test compares these keys with those <see cref="ExperimentSpec.Parse"/> asks for,
/// so a key added to the parser without a line here fails it; recipe defaults are read from <see cref="TrainingOptions"/>.
/// </summary>
public static class SpecReference
{
    static readonly TrainingOptions Paper = new();

    /// <summary>The keys in the order the reference lists them; recipe keys once, under <c>recipe.</c>.</summary>
    public static readonly IReadOnlyList<SpecKey> Keys =
    [
        new("name", "string", "the spec file's name without its extension", "The experiment's name; its runs go to runs/NAME/seed-N unless --out says otherwise."),
        new("base_model", "path", "required", "The checkpoint stage 1 starts from (Hugging Face layout)."),
        new("device", "cpu, cuda or cuda:N", "cpu", "Where the models train and are evaluated."),
        new("dtype", "auto, float32, bfloat16 or float16", "auto", "The weights' dtype; auto is what a stage's recipe.precision trains where it has one, else float32 on a CPU and the checkpoint's own on a GPU."),
        new("kernels", KernelChoices.Expected, "auto", "auto runs the norms, SwiGLU and causal attention on Remix's CPU kernels, at the widest vector width the CPU has; reference uses TorchSharp's operations everywhere (the same within float32 rounding); reference stages are trained apart from auto ones."),
        new("seeds", "list of integers", "[0]", "One run per seed, each in its own seed-N folder."),
        new("seed", "integer", "none (seeds applies)", "A single seed, instead of seeds (not both)."),
        new("joint", "true or false", "false", "Train once on every stage's data with the first stage's recipe (the upper bound)."),
        new("logit_lens", "true or false", "false", "After each stage, run the logit lens on every stage's set as well."),
        new("recipe", "object of recipe keys", "the paper's recipe (below)", "Every stage's default recipe."),
        new("stages", "non-empty list of stages", "required", "The stages, trained in order, each from the model the previous one left."),
        new("stages[].name", "string", "stageN (its position from 1)", "The stage's name, distinct within the spec; it names its set in the results."),
        new("stages[].data", "a file, a {file, ...} object, or a non-empty list of either", "required", "The files of the set the stage memorizes and is evaluated on; documents in them are left out."),
        new("stages[].data[].file", "path", "required", "A data file (or MATH directory) in any supported format."),
        new("stages[].data[].format", string.Join(", ", DatasetReader.FormatNames), "detected from the file", "The file's format, for one that cannot be detected (as remix data inspect --format)."),
        new("stages[].data[].skip_bad", "true or false", "false", "Skip and count malformed rows instead of refusing the file at the first."),
        new("stages[].data[].templates", "path", "relations.jsonl beside the data or up to two folders above, else LAMA's own", "LAMA relation templates for a lama-trex file."),
        new("stages[].limit", "positive integer", "every example", "Use only the first N examples of the data; the data must hold at least N."),
        new("stages[].mix", "list of mixing sources", "none", "REMIX: examples mixed into the stage's training data (not its evaluation)."),
        new("stages[].mix[].source", "random or generic", "required", "Random word sequences, or passages of a generic corpus (50 words of prompt, 50 of target)."),
        new("stages[].mix[].ratio", "non-negative number", "required", "Extra examples drawn from the source: RATIO x the size of the stage's set."),
        new("stages[].mix[].file", "path", $"{BundledPaths.WordList} (random) or {BundledPaths.GenericCorpus} (generic)", "The word list (one word a line, at least two) or the corpus (documents of at least 100 words)."),
        new("stages[].mix[].prompt_words", "non-negative integer", "10", "Words of a random sequence shown in the prompt (random only)."),
        new("stages[].mix[].target_words", "positive integer", "10", "Words of a random sequence to be memorized (random only)."),
        new("stages[].replay", "{stage, fraction}", "none", "Replay an earlier stage's set during this one."),
        new("stages[].replay.stage", "an earlier stage's name", "required", "The stage whose set is replayed."),
        new("stages[].replay.fraction", "non-negative number", "required", "Examples replayed: FRACTION x the size of the earlier stage's set."),
        new("stages[].regularizer", "{type, strength}", "none", "A penalty toward the model the stage starts from."),
        new("stages[].regularizer.type", "l2, ewc or kl", "required", "L2 to the starting weights, EWC with the previous stage's diagonal Fisher, or KL to the starting model's answers (the only one with lora)."),
        new("stages[].regularizer.strength", "non-negative number", "required", "The penalty's weight."),
        new("stages[].lora", "{rank, alpha, targets}", "none (every weight trains)", "Train LoRA adapters, merged into the weights at the end of the stage."),
        new("stages[].lora.rank", "positive integer", "required", "The adapters' rank."),
        new("stages[].lora.alpha", "positive number", "2 x rank", "The adapters' scale numerator (the update is alpha / rank x B A)."),
        new("stages[].lora.targets", "non-empty list of projection names", "[q_proj, v_proj]", "The projections that get adapters."),
        new("stages[].recipe", "object of recipe keys", "the top-level recipe", "This stage's recipe, over the top-level one key by key."),
        new("recipe.lr", "positive number", Number(Paper.LearningRate), "Peak learning rate (AdamW)."),
        new("recipe.betas", "two numbers in [0, 1)", $"[{Number(Paper.Beta1)}, {Number(Paper.Beta2)}]", "AdamW's beta1 and beta2."),
        new("recipe.eps", "positive number", Number(Paper.Epsilon), "AdamW's epsilon."),
        new("recipe.weight_decay", "non-negative number", Number(Paper.WeightDecay), "AdamW's weight decay."),
        new("recipe.schedule", "cosine, linear or constant", Paper.Schedule.ToString().ToLowerInvariant(), "The learning rate's course after warmup."),
        new("recipe.warmup_ratio", "number in [0, 1]", Number(Paper.WarmupRatio), "Share of the steps over which the learning rate rises from 0 to lr."),
        new("recipe.clip", "non-negative number", Number(Paper.ClipNorm), "Gradient norm clip (0: off)."),
        new("recipe.batch_size", "positive integer", Number(Paper.BatchSize), "Examples per batch."),
        new("recipe.grad_accum", "positive integer", Number(Paper.GradientAccumulation), "Batches whose gradients add up to one optimizer step."),
        new("recipe.epochs", "positive integer", Number(Paper.Epochs), "Most epochs (a stop rule may end training sooner)."),
        new("recipe.max_length", "integer of at least 2", Number(Paper.MaxLength), "Longer examples are dropped, not truncated."),
        new("recipe.seed", "integer", Number(Paper.Seed), "Added to the run's seed for the data order, the mixing draws and LoRA's initial weights."),
        new("recipe.fixed_order", "true or false", Bool(Paper.FixedOrder), "The same data order every epoch (the reference code's behaviour)."),
        new("recipe.group_by_length", "true or false", Bool(Paper.GroupByLength), "Batch examples of similar length together."),
        new("recipe.stop", StopRule.Syntax, Paper.Stop.ToString()!, "When training ends before the epoch cap."),
        new("recipe.eval_every", "non-negative step count", Number(Paper.EvalEvery), "Evaluate the earlier stages' sets every N optimizer steps: the forgetting curve (0: only at the end)."),
        new("recipe.save_every", "non-negative step count", Number(Paper.SaveEvery), "Checkpoint every N steps (0: only when interrupted)."),
        new("recipe.keep_checkpoints", "true or false", Bool(Paper.KeepCheckpoints), "Keep the checkpoints and optimizer state once the stage has finished."),
        new("recipe.precision", Precisions.Names, "from dtype", "How weights, gradients and AdamW moments are kept: fp32 16 B per parameter, bf16-master (bfloat16 weights, float32 master and moments) 16 B, bf16-pure (all bfloat16) 8 B; it sets the dtype when that is auto, else must agree with it; left out, float32 weights train in fp32 and 16-bit ones with a master copy."),
        new("recipe.collect_every", "positive step count", Number(Paper.CollectEvery), "Collect .NET garbage every N steps, which frees TorchSharp's native memory (memory only: the numbers do not change)."),
    ];

    /// <summary>The reference as the README's Markdown table, one row per key.</summary>
    public static string Markdown()
    {
        static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
        var sb = new StringBuilder("| key | type | default | meaning |\n|---|---|---|---|\n");
        foreach (var key in Keys)
            sb.Append(CultureInfo.InvariantCulture, $"| `{key.Path}` | {Cell(key.Type)} | {Cell(key.Default)} | {Cell(key.Meaning)} |\n");
        sb.Append("\nA stage's `recipe` takes the same keys as the top-level one (`stages[].recipe.lr`, ...); `[]` stands for any item of a list, and a single `data` object's keys are `stages[].data.file`, ... .\n");
        return sb.ToString();
    }

    /// <summary>A number as a spec writes it: 5e-5 rather than 5E-05.</summary>
    static string Number(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        int e = text.IndexOf('E', StringComparison.Ordinal);
        return e < 0 ? text : $"{text[..e]}e{int.Parse(text[(e + 1)..], CultureInfo.InvariantCulture)}";
    }

    static string Bool(bool value) => value ? "true" : "false";
}
