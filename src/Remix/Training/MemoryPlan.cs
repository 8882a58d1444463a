using System.Globalization;
using Remix.Models;

namespace Remix.Training;

/// <summary>
/// What full fine-tuning of a model of <see cref="LlamaConfig"/>'s shape takes in memory on one device under a
/// <see cref="Training.Precision"/>: weights, gradients and optimizer state exactly (parameters x bytes per parameter, as
/// <see cref="AdamW"/> and the trainer hold them), activations as an estimate (<see cref="ActivationBytesPerTokenPerLayer"/>).
/// Only the config is needed, not the weights, so it answers for models too large to load here.
/// </summary>
public sealed record MemoryPlan
{
    public required long Parameters { get; init; }
    public required Precision Precision { get; init; }
    public required int BatchSize { get; init; }
    public required int MaxLength { get; init; }
    public required int Layers { get; init; }
    public required long WeightBytes { get; init; }
    public required long GradientBytes { get; init; }
    public required long OptimizerBytes { get; init; }
    /// <summary>The estimate of what the forward keeps for the backward, for a batch of full-length examples.</summary>
    public required long ActivationBytes { get; init; }
    /// <summary>The per-token, per-layer term of <see cref="ActivationBytes"/>.</summary>
    public required long LayerBytesPerToken { get; init; }
    /// <summary>The per-token term of the final norm, the output head and the loss.</summary>
    public required long HeadBytesPerToken { get; init; }

    /// <summary>Weights, gradients and optimizer state: the part that does not depend on the batch.</summary>
    public long StateBytes => WeightBytes + GradientBytes + OptimizerBytes;

    public long TotalBytes => StateBytes + ActivationBytes;

    /// <summary>The plan for training every parameter of <paramref name="config"/> on batches of <paramref name="batchSize"/> examples of <paramref name="maxLength"/> tokens.</summary>
    public static MemoryPlan Estimate(LlamaConfig config, Precision precision, int batchSize, int maxLength)
    {
        if (batchSize < 1) throw new InvalidInputException("--batch-size", $"expected a positive integer, found {batchSize}");
        if (maxLength < 2) throw new InvalidInputException("--max-length", $"expected an integer of at least 2, found {maxLength}");
        var bytes = Precisions.Bytes(precision);
        long n = config.ParameterCount, tokens = (long)batchSize * maxLength;
        int a = bytes.Weights; // activations are in the weights' dtype
        long layer = ActivationBytesPerTokenPerLayer(config, a), head = HeadActivationBytesPerToken(config, a);
        return new MemoryPlan
        {
            Parameters = n, Precision = precision, BatchSize = batchSize, MaxLength = maxLength, Layers = config.NumHiddenLayers,
            WeightBytes = n * bytes.Weights, GradientBytes = n * bytes.Gradients, OptimizerBytes = n * bytes.Optimizer,
            ActivationBytes = tokens * (config.NumHiddenLayers * layer + head), LayerBytesPerToken = layer, HeadBytesPerToken = head,
        };
    }

    /// <summary>
    /// What one Llama block keeps for the backward per token without activation checkpointing, in bytes, with activations
    /// of <paramref name="a"/> bytes: a·(2h + 3q + 2kv + 4i) + 8h, q being heads·head_dim (h in most models). Attention keeps
    /// its normed input h (for q, k, v), q, k and v (q + 2kv), its output q and the o projection's input q; the MLP its normed input h, gate and up (2i), silu(gate) i
    /// and the down projection's input i; each of the two RMSNorms its normalized input in float32 (4h). It assumes a fused
    /// attention kernel, which keeps no [seq, seq] scores; an unfused one adds heads·seq·a per token per layer.
    /// </summary>
    public static long ActivationBytesPerTokenPerLayer(LlamaConfig config, int a)
    {
        long h = config.HiddenSize, q = (long)config.NumAttentionHeads * config.HeadDim, kv = (long)config.NumKeyValueHeads * config.HeadDim;
        long i = config.IntermediateSize;
        return a * (2 * h + 3 * q + 2 * kv + 4 * i) + 2 * 4 * h;
    }

    /// <summary>
    /// The final norm (float32, 4h), the output head's input (a·h) and the loss per token: the logits (a·vocab), their
    /// float32 copy and float32 log-softmax (8·vocab), as <see cref="CausalLmLoss"/> computes it.
    /// </summary>
    public static long HeadActivationBytesPerToken(LlamaConfig config, int a) =>
        (a + 4L) * config.HiddenSize + (a + 8L) * config.VocabSize;

    /// <summary>The plan as <c>remix plan memory</c> prints it, sizes in GiB (2^30 bytes) with GB (10^9) beside the totals.</summary>
    public IReadOnlyList<string> Describe()
    {
        var bytes = Precisions.Bytes(Precision);
        string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        string G(long v) => (v / (double)(1L << 30)).ToString("F2", CultureInfo.InvariantCulture).PadLeft(8) + " GiB";
        string Gb(long v) => (v / 1e9).ToString("F2", CultureInfo.InvariantCulture) + " GB";
        string moments = $"AdamW moments {bytes.Moments} B in {(bytes.Moments == 4 ? "bfloat16" : "float32")}";
        string optimizer = bytes.Master > 0 ? $"{moments} + float32 master {bytes.Master} B" : moments;
        long tokens = (long)BatchSize * MaxLength;
        return
        [
            $"precision {Precisions.Name(Precision)}: {bytes.Total} B per parameter ({N(Parameters)} parameters, all trained)",
            $"weights      {G(WeightBytes)}  {N(Parameters)} x {bytes.Weights} B",
            $"gradients    {G(GradientBytes)}  {N(Parameters)} x {bytes.Gradients} B",
            $"optimizer    {G(OptimizerBytes)}  {N(Parameters)} x {bytes.Optimizer} B ({optimizer})",
            $"  subtotal   {G(StateBytes)}  ({Gb(StateBytes)})",
            $"activations  {G(ActivationBytes)}  estimate: {N(tokens)} tokens (batch {BatchSize} x {MaxLength}) x ({N(LayerBytesPerToken)} B per layer x {Layers} layers + {N(HeadBytesPerToken)} B head and loss)",
            $"total        {G(TotalBytes)}  ({Gb(TotalBytes)}); activations are an estimate without checkpointing, with a fused attention kernel",
        ];
    }
}
