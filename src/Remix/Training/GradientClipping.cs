using static TorchSharp.torch;

namespace Remix.Training;

/// <summary>Global-norm gradient clipping, as <c>torch.nn.utils.clip_grad_norm_</c> computes it.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales all gradients by max_norm / (norm + 1e-6) when that is below 1; returns the global L2
    /// norm before clipping. <paramref name="maxNorm"/> 0 only measures.
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        using var noGrad = no_grad();
        var grads = Gradients(parameters);
        double total = GlobalNorm(grads);
        double coefficient = Coefficient(total, maxNorm);
        if (coefficient < 1) foreach (var g in grads) g.mul_(coefficient);
        return total;
    }

    /// <summary>The L2 norm of all the parameters' gradients together (0 when none has one).</summary>
    public static double GlobalNorm(IEnumerable<Tensor> parameters) => GlobalNorm(Gradients(parameters));

    /// <summary>
    /// The factor clipping multiplies the gradients by: max_norm / (norm + 1e-6) when that is below 1, else 1
    /// (also for <paramref name="maxNorm"/> 0, no clipping).
    /// </summary>
    public static double Coefficient(double norm, double maxNorm) => maxNorm > 0 ? Math.Min(1, maxNorm / (norm + 1e-6)) : 1;

    static List<Tensor> Gradients(IEnumerable<Tensor> parameters) => parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();

    static double GlobalNorm(List<Tensor> grads)
    {
        if (grads.Count == 0) return 0;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Each 16-bit gradient's float32 copy is freed once its norm is taken: kept to the end of the scope they would add
        // 4 bytes per parameter at once, as much as bf16-pure's whole optimizer state.
        return stack(grads.Select(g =>
        {
            using var one = NewDisposeScope();
            return g.to(ScalarType.Float32).norm().MoveToOuterDisposeScope();
        }).ToArray()).norm().item<float>();
    }
}
