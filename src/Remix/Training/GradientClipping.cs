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
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0) return 0;
        double total = stack(grads.Select(g => g.to(ScalarType.Float32).norm()).ToArray()).norm().item<float>();
        if (maxNorm > 0)
        {
            double coefficient = maxNorm / (total + 1e-6);
            if (coefficient < 1) foreach (var g in grads) g.mul_(coefficient);
        }
        return total;
    }
}
