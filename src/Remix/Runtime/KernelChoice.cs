namespace Remix.Runtime;

/// <summary>
/// Which code runs a model's norms, SwiGLU product, causal attention and greedy decoding steps on the CPU: <see cref="Auto"/> uses Remix's
/// CPU kernels (at the widest vectors .NET accelerates: 512, 256 or 128 bits) where the tensors' shapes allow,
/// <see cref="Reference"/> plain TorchSharp operations everywhere. The two agree within float32 rounding, not bit for bit.
/// </summary>
public enum KernelChoice
{
    /// <summary>Remix's CPU kernels where the CPU has vector instructions and the shapes allow, TorchSharp's operations elsewhere.</summary>
    Auto,

    /// <summary>TorchSharp's operations everywhere: the path to compare the kernels against, or to rule them out.</summary>
    Reference,
}
