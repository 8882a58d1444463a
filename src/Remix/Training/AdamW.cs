using Remix.Checkpoints.SafeTensors;
using Remix.Models.Kernels;
using Remix.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Remix.Training;

/// <summary>
/// AdamW with decoupled weight decay, computed as PyTorch's single-tensor AdamW does. Written out
/// (rather than TorchSharp's optimizer) so that its moments can be saved and restored exactly for
/// resume. Biases and norm weights get no weight decay, as in transformers' Trainer.
/// Parameters in bfloat16 or float16 are updated through a float32 master copy kept here (and saved
/// with the moments), as mixed-precision training does: rounding the weight back to 16 bits after
/// every step would lose every update smaller than half the weight's spacing (at 1.0 in bfloat16,
/// 0.004), which a decaying learning rate soon makes all of them. Without a master copy (pure 16-bit training,
/// <see cref="Precision.Bf16Pure"/>) the moments are kept in the parameter's dtype too and each slice of the update is
/// computed in float32 and rounded (to nearest) back into weights and moments, as fused AdamW does for bfloat16
/// parameters: 8 bytes per parameter with the gradient instead of 16, at the cost of those small updates.
/// Float32 updates on the CPU run in one pass over memory in Remix's kernel (<see cref="AdamWKernel"/>) under
/// <see cref="KernelChoice.Auto"/>, equal to libtorch's operations within float32 rounding; <see cref="KernelChoice.Reference"/>
/// keeps those operations.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly List<(string Name, Parameter Parameter, Tensor ExpAvg, Tensor ExpAvgSq, bool Decay, Tensor? Master)> _state = [];

    /// <summary>
    /// AdamW over the parameters that require a gradient; <paramref name="masterWeights"/> false trains 16-bit
    /// parameters without a float32 master copy and with moments in their own dtype (pure 16-bit).
    /// </summary>
    public AdamW(IEnumerable<(string Name, Parameter Parameter)> parameters, double beta1 = 0.9, double beta2 = 0.95, double eps = 1e-8, double weightDecay = 0,
        bool masterWeights = true, KernelChoice kernels = KernelChoice.Auto)
    {
        Kernels = kernels;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        foreach (var (name, p) in parameters)
        {
            if (!p.requires_grad) continue;
            if (!masterWeights && p.dtype == ScalarType.Float16)
                // float16 squares of small gradients underflow to 0, and m / (sqrt(0) + eps) blows the step up.
                throw new InvalidInputException("--precision", $"{name}: pure 16-bit training keeps AdamW's moments in the weights' dtype, which works for bfloat16, not float16: train float16 weights with a master copy");
            if (!masterWeights && p.dtype == ScalarType.BFloat16 && Math.Max(beta1, beta2) > MaxPureBeta)
                // bfloat16 keeps 8 significant bits: v * 0.999 rounds back to v, so the second moment would never decay.
                throw new InvalidInputException("--betas", $"bf16-pure keeps AdamW's moments in bfloat16, whose rounding swallows a decay of 1 - beta below about 1/128: expected betas up to {MaxPureBeta} (the paper's 0.9,0.95), found {beta1},{beta2}; or train with --precision bf16-master");
            bool decay = !(name.EndsWith(".bias", StringComparison.Ordinal) || name.Contains("norm", StringComparison.Ordinal));
            bool sixteenBit = p.dtype is ScalarType.BFloat16 or ScalarType.Float16;
            var master = sixteenBit && masterWeights ? p.detach().to(ScalarType.Float32).DetachFromDisposeScope() : null;
            // Pure 16-bit keeps the moments in the parameter's dtype: that, with no master, is where its 8 bytes come from.
            var momentType = sixteenBit && !masterWeights ? p.dtype : ScalarType.Float32;
            _state.Add((name, p, zeros(p.shape, momentType, p.device).DetachFromDisposeScope(), zeros(p.shape, momentType, p.device).DetachFromDisposeScope(), decay, master));
        }
    }

    /// <summary>The largest beta a bfloat16 moment still decays under (1 - beta of at least about two bfloat16 roundings).</summary>
    public const double MaxPureBeta = 0.99;

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    /// <summary>Whether float32 updates on the CPU run in <see cref="AdamWKernel"/> (auto) or as libtorch's operations (reference).</summary>
    public KernelChoice Kernels { get; }

    /// <summary>Updates taken so far.</summary>
    public long Step { get; private set; }

    /// <summary>
    /// One update with learning rate <paramref name="lr"/> from the parameters' current gradients, first scaled
    /// by <paramref name="gradientScale"/> (a clipping coefficient: scaled here, slice by slice, the
    /// gradients are read from memory once instead of twice; in place on libtorch's path, as they are read in the kernel's).
    /// </summary>
    public void Update(double lr, double gradientScale = 1)
    {
        Step++;
        double biasCorrection1 = 1 - Math.Pow(Beta1, Step);
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, Step));
        double stepSize = lr / biasCorrection1;
        using var noGrad = no_grad();
        foreach (var (_, p, m, v, decay, master) in _state)
        {
            if (p.grad is not { } g) continue;
            using var scope = NewDisposeScope();
            if (m.dtype != ScalarType.Float32)
            {
                UpdateInItsDType(p, g, m, v, decay, lr, gradientScale, stepSize, biasCorrection2Sqrt);
                continue;
            }
            var grad = g.to(ScalarType.Float32);
            var value = master ?? p.to(ScalarType.Float32);
            bool copyBack = !ReferenceEquals(value, p) && value.Handle != p.Handle;
            if (Kernels == KernelChoice.Auto && AdamWKernel.Supports(value, grad, m, v))
            {
                AdamWKernel.Update(value, grad, m, v, KernelConstants(decay, lr, gradientScale, stepSize, biasCorrection2Sqrt));
                if (copyBack) p.copy_(value);
                continue;
            }
            // Element by element, so it is computed in slices small enough to stay in the cores' caches
            // between its seven passes; the values are the same as over the whole tensor at once.
            var (flatValue, flatGrad, flatM, flatV) = (value.view(-1), grad.reshape(-1), m.view(-1), v.view(-1));
            for (long start = 0, count = flatValue.shape[0]; start < count; start += SliceElements)
            {
                using var slice = NewDisposeScope();
                long length = Math.Min(SliceElements, count - start);
                var (pv, gv, mv, vv) = (flatValue.narrow(0, start, length), flatGrad.narrow(0, start, length), flatM.narrow(0, start, length), flatV.narrow(0, start, length));
                UpdateSlice(pv, gv, mv, vv, decay, lr, gradientScale, stepSize, biasCorrection2Sqrt);
            }
            if (copyBack) p.copy_(value);
        }
    }

    /// <summary>The step's scalars as the kernel takes them: in float32, as libtorch's float operations take theirs.</summary>
    AdamWKernel.Constants KernelConstants(bool decay, double lr, double gradientScale, double stepSize, double biasCorrection2Sqrt) =>
        new((float)gradientScale, decay && WeightDecay > 0 ? (float)(1 - lr * WeightDecay) : 1f, (float)(1 - Beta1), (float)Beta2, (float)(1 - Beta2),
            (float)biasCorrection2Sqrt, (float)Eps, (float)stepSize);

    /// <summary>The update of one float32 slice, in place on the weights and moments.</summary>
    void UpdateSlice(Tensor pv, Tensor gv, Tensor mv, Tensor vv, bool decay, double lr, double gradientScale, double stepSize, double biasCorrection2Sqrt)
    {
        if (gradientScale != 1) gv.mul_(gradientScale);
        if (decay && WeightDecay > 0) pv.mul_(1 - lr * WeightDecay);
        mv.lerp_(gv, 1 - Beta1);
        vv.mul_(Beta2).addcmul_(gv, gv, 1 - Beta2);
        var denom = vv.sqrt().div_(biasCorrection2Sqrt).add_(Eps);
        pv.addcdiv_(mv, denom, -stepSize);
    }

    /// <summary>
    /// Pure 16-bit: each slice of weights, gradient and moments is widened to float32, updated as <see cref="UpdateSlice"/>
    /// does, and rounded back. Computing in float32 keeps the square root, the division and eps (1e-8, far below
    /// bfloat16's 2^-8 relative step near the moments) from rounding at every operation; only the stored values round.
    /// Widening a slice at a time keeps the float32 copies at four slices, not a parameter's worth.
    /// </summary>
    void UpdateInItsDType(Parameter p, Tensor g, Tensor m, Tensor v, bool decay, double lr, double gradientScale, double stepSize, double biasCorrection2Sqrt)
    {
        var (flatValue, flatGrad, flatM, flatV) = (p.view(-1), g.reshape(-1), m.view(-1), v.view(-1));
        for (long start = 0, count = flatValue.shape[0]; start < count; start += SliceElements)
        {
            using var slice = NewDisposeScope();
            long length = Math.Min(SliceElements, count - start);
            var (pTarget, mTarget, vTarget) = (flatValue.narrow(0, start, length), flatM.narrow(0, start, length), flatV.narrow(0, start, length));
            var (pv, mv, vv) = (pTarget.to(ScalarType.Float32), mTarget.to(ScalarType.Float32), vTarget.to(ScalarType.Float32));
            UpdateSlice(pv, flatGrad.narrow(0, start, length).to(ScalarType.Float32), mv, vv, decay, lr, gradientScale, stepSize, biasCorrection2Sqrt);
            pTarget.copy_(pv);
            mTarget.copy_(mv);
            vTarget.copy_(vv);
        }
    }

    /// <summary>Bytes the optimizer holds beyond the weights and gradients: both moments and any float32 master copies.</summary>
    public long StateBytes => _state.Sum(s => s.ExpAvg.NumberOfElements * s.ExpAvg.ElementSize + s.ExpAvgSq.NumberOfElements * s.ExpAvgSq.ElementSize
        + (s.Master is { } master ? master.NumberOfElements * master.ElementSize : 0));

    /// <summary>The dtypes of each parameter's state (moments, master copy or null), to check what a mode really keeps.</summary>
    public IReadOnlyList<(string Name, ScalarType Moments, ScalarType? Master)> StateDTypes =>
        [.. _state.Select(s => (s.Name, s.ExpAvg.dtype, s.Master?.dtype))];

    /// <summary>Elements updated together: four float32 slices of this size fit in the two cores' L2 caches.</summary>
    const long SliceElements = 1 << 17;

    /// <summary>
    /// Clears every gradient (to none, as PyTorch's <c>zero_grad</c> does by default): the next backward
    /// then hands its gradient over instead of adding it into a zero-filled one, two passes fewer.
    /// </summary>
    public void ZeroGrad()
    {
        foreach (var s in _state) s.Parameter.grad = null;
    }

    /// <summary>Writes the moments and float32 master weights (safetensors, by parameter name) for resume.</summary>
    public void Save(string path)
    {
        var tensors = _state.SelectMany(s => new[] { ($"{s.Name}.exp_avg", s.ExpAvg), ($"{s.Name}.exp_avg_sq", s.ExpAvgSq) }
            .Concat(s.Master is { } master ? [($"{s.Name}.master", master)] : [])).ToList();
        SafeTensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["step"] = Step.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    /// <summary>
    /// Restores what <see cref="Save"/> wrote. Call after the weights are loaded: a master copy missing from the
    /// file (one written by a float32 run) is taken from the parameter.
    /// </summary>
    public void Load(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        using var noGrad = no_grad();
        foreach (var (name, p, m, v, _, master) in _state)
        {
            foreach (var (key, target) in new[] { ($"{name}.exp_avg", m), ($"{name}.exp_avg_sq", v) })
            {
                if (!file.Contains(key)) throw new InvalidInputException(path, $"optimizer state lacks '{key}'");
                Read(file, path, key, target);
            }
            if (master is null) continue;
            if (file.Contains($"{name}.master")) Read(file, path, $"{name}.master", master);
            else master.copy_(p);
        }
        Step = file.Metadata.TryGetValue("step", out var s) && long.TryParse(s, out var n) ? n : throw new InvalidInputException(path, "'__metadata__.step': expected the optimizer step");
    }

    static void Read(SafeTensorsFile file, string path, string key, Tensor target)
    {
        using var t = file.Read(key, ScalarType.Float32, target.device);
        if (!t.shape.SequenceEqual(target.shape)) throw new InvalidInputException(path, $"'{key}': expected shape [{string.Join(", ", target.shape)}], found [{string.Join(", ", t.shape)}]");
        target.copy_(t);
    }

    public void Dispose()
    {
        foreach (var (_, _, m, v, _, master) in _state)
        {
            m.Dispose();
            v.Dispose();
            master?.Dispose();
        }
    }
}
