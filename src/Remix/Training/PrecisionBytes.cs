namespace Remix.Training;

/// <summary>
/// Bytes per trainable parameter of a <see cref="Precision"/> mode: the weights, their gradients, the optimizer's
/// float32 master copy (none when the weights are float32 or the mode is pure), and AdamW's two moments together.
/// </summary>
public sealed record PrecisionBytes(int Weights, int Gradients, int Master, int Moments)
{
    /// <summary>The optimizer's share: master copy and moments.</summary>
    public int Optimizer => Master + Moments;

    /// <summary>Everything per parameter, activations aside.</summary>
    public int Total => Weights + Gradients + Optimizer;
}
