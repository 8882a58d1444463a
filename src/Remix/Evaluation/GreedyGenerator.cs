using Remix.Models;
using static TorchSharp.torch;
using Remix.Models.Kernels;
using Remix.Runtime;

namespace Remix.Evaluation;

/// <summary>
/// Batched greedy decoding. Prompts of different lengths are left-padded, with positions counted
/// from each prompt's first real token and padding masked out of attention, so every row decodes as
/// it would alone. Each row stops at its first stop token; the batch stops when all have.
/// </summary>
/// <remarks>
/// The prompts are read by one libtorch forward pass (prefill). With the KV cache, each later step runs on
/// <see cref="CpuDecoder"/> where it applies (float32 on the CPU, <see cref="KernelChoice.Auto"/>, no LoRA adapter
/// attached: <see cref="UsesCpuDecoder"/>), otherwise on the model's forward pass; <paramref name="kernels"/>
/// <see cref="KernelChoice.Reference"/> (or a model built with it) keeps every step on the forward pass.
/// </remarks>
public sealed class GreedyGenerator(LlamaForCausalLM model, KernelChoice? kernels = null)
{
    /// <summary>Whether the steps after the prompt run on <see cref="CpuDecoder"/> (with the KV cache), as it stands now.</summary>
    public bool UsesCpuDecoder => (kernels ?? model.Kernels) == KernelChoice.Auto && CpuDecoder.Supports(model);

    /// <summary>Which code runs the decoding steps, as provenance records it.</summary>
    public string DecodingPath(bool useCache = true) => useCache && UsesCpuDecoder ? "remix decoder (CPU, float32)" : "libtorch forward";

    /// <summary>
    /// Generates up to <paramref name="maxNewTokens"/> tokens after each prompt. With
    /// <paramref name="useCache"/> false every step re-reads the whole sequence (for checking and benchmarks).
    /// </summary>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<int[]> prompts, int maxNewTokens,
        IReadOnlyCollection<int> stopTokenIds, bool useCache = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        if (prompts.Count == 0) return [];
        foreach (var p in prompts)
        {
            if (p.Length == 0) throw new ArgumentException("every prompt needs at least one token (a BOS token will do)");
            foreach (var id in p)
                if (id < 0 || id >= model.Config.VocabSize)
                    throw new ArgumentException($"token id {id} is outside the model's vocabulary (0..{model.Config.VocabSize - 1})");
        }
        var generated = prompts.Select(_ => new List<int>()).ToArray();
        var stopped = new bool[prompts.Count];
        if (maxNewTokens == 0) return Results(generated, stopped);

        var stops = stopTokenIds.ToHashSet();
        int batch = prompts.Count, width = prompts.Max(p => p.Length);
        int padId = model.Config.PadTokenId ?? stopTokenIds.FirstOrDefault();
        bool padded = prompts.Any(p => p.Length != width);

        // Row b: [pad ... pad, prompt, generated...]; realLength[b] = prompt length + generated so far.
        var tokens = prompts.Select(p => Enumerable.Repeat(padId, width - p.Length).Concat(p).ToList()).ToArray();
        var padCount = prompts.Select(p => width - p.Length).ToArray();

        using var noGrad = no_grad();
        using var cache = useCache ? new KvCache(model.Config, batch, width + maxNewTokens, model.Device, model.DType) : null;
        var decoder = cache is not null && maxNewTokens > 1 && UsesCpuDecoder && CpuDecoder.Fits(model.Config, batch, cache.Capacity) ? new CpuDecoder(model, cache, padCount) : null;
        var last = new int[batch];
        for (int step = 0; step < maxNewTokens; step++)
        {
            using var scope = NewDisposeScope();
            for (int b = 0; b < batch; b++) last[b] = tokens[b][^1];
            long[] next = decoder is not null && step > 0 ? [.. decoder.Step(last).Select(t => (long)t)] : LibtorchStep(tokens, padCount, padded, cache, step, width);
            for (int b = 0; b < batch; b++)
            {
                int token = stopped[b] ? padId : (int)next[b];
                tokens[b].Add(token);
                if (stopped[b]) continue;
                generated[b].Add(token);
                stopped[b] = stops.Contains(token);
            }
            if (stopped.All(s => s)) break;
        }
        return Results(generated, stopped);
    }

    /// <summary>The next token of every row by the model's forward pass: the whole sequence, or with the cache only the newest token after the first step.</summary>
    long[] LibtorchStep(List<int>[] tokens, int[] padCount, bool padded, KvCache? cache, int step, int width)
    {
        int total = width + step;
        int fed = cache is not null && step > 0 ? 1 : total; // positions fed this step
        var input = IdsTensor(tokens, total - fed, fed);
        var positions = PositionsTensor(padCount, total - fed, fed);
        var mask = padded ? MaskTensor(padCount, total) : null;
        var logits = model.Forward(input, positions, mask, cache, lastOnly: true); // [batch, 1, vocab]
        return logits.select(1, 0).argmax(-1).to(CPU).data<long>().ToArray();
    }

    static GeneratedSequence[] Results(List<int>[] generated, bool[] stopped) =>
        [.. generated.Select((g, b) => new GeneratedSequence([.. g], stopped[b]))];

    Tensor IdsTensor(List<int>[] tokens, int start, int length)
    {
        var data = new long[tokens.Length * length];
        for (int b = 0; b < tokens.Length; b++)
            for (int i = 0; i < length; i++) data[b * length + i] = tokens[b][start + i];
        return tensor(data, [tokens.Length, length], ScalarType.Int64, model.Device);
    }

    /// <summary>Positions count from each row's first real token; padding gets position 1, as transformers does.</summary>
    Tensor PositionsTensor(int[] padCount, int start, int length)
    {
        var data = new long[padCount.Length * length];
        for (int b = 0; b < padCount.Length; b++)
            for (int i = 0; i < length; i++)
            {
                long position = start + i - padCount[b];
                data[b * length + i] = position < 0 ? 1 : position;
            }
        return tensor(data, [padCount.Length, length], ScalarType.Int64, model.Device);
    }

    Tensor MaskTensor(int[] padCount, int total)
    {
        var data = new long[padCount.Length * total];
        for (int b = 0; b < padCount.Length; b++)
            for (int i = padCount[b]; i < total; i++) data[b * total + i] = 1;
        return tensor(data, [padCount.Length, total], ScalarType.Int64, model.Device);
    }
}
