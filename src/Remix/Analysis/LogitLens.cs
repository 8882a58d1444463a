using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Data;
using Remix.IO;
using Remix.Models;
using Remix.Tokenization;
using static TorchSharp.torch;

namespace Remix.Analysis;

/// <summary>
/// One fact under the logit lens: the gold first answer token and, at every layer (0 = the embedding,
/// l = after decoder layer l), its rank (0 = top-1) and probability when the final norm and the LM
/// head are applied to the residual stream at the last prompt position.
/// </summary>
public sealed record LensFact(string Id, string Question, int GoldToken, string GoldText, int[] Rank, double[] Probability)
{
    /// <summary>The first layer at which the gold token is the top-1 prediction, if any.</summary>
    public int? EarliestTop1 => Array.IndexOf(Rank, 0) is var i and >= 0 ? i : null;

    /// <summary>The first layer at which the gold token's probability reaches <paramref name="threshold"/>, if any.</summary>
    public int? EarliestAbove(double threshold) => Array.FindIndex(Probability, p => p >= threshold) is var i and >= 0 ? i : null;
}

/// <summary>The lens over a whole set for one model, with the per-layer and per-fact summaries.</summary>
public sealed record LensResult(string Model, int Layers, double Threshold, IReadOnlyList<LensFact> Facts)
{
    /// <summary>Points on the layer axis: the embedding and each decoder layer.</summary>
    public int Points => Layers + 1;

    /// <summary>Fraction of facts whose gold token is top-1 at this layer.</summary>
    public double DecodableFraction(int layer) => Facts.Count(f => f.Rank[layer] == 0) / (double)Facts.Count;

    public double MeanProbability(int layer) => Facts.Average(f => f.Probability[layer]);

    /// <summary>Mean and standard deviation of the earliest top-1 layer over the facts that reach top-1, and how many never do.</summary>
    public (double Mean, double Std, int Never) EarliestTop1 => Spread(Facts.Select(f => f.EarliestTop1));

    public (double Mean, double Std, int Never) EarliestAboveThreshold => Spread(Facts.Select(f => f.EarliestAbove(Threshold)));

    static (double Mean, double Std, int Never) Spread(IEnumerable<int?> layers)
    {
        var list = layers.ToList();
        var reached = list.Where(l => l is not null).Select(l => (double)l!.Value).ToList();
        if (reached.Count == 0) return (double.NaN, double.NaN, list.Count);
        double mean = reached.Average();
        return (mean, Math.Sqrt(reached.Average(v => (v - mean) * (v - mean))), list.Count - reached.Count);
    }
}

/// <summary>
/// The logit lens (nostalgebraist, 2020) on memorized factoids: the prompt is encoded as in training,
/// the residual stream is read after the embedding and after every layer at the last prompt position,
/// and the model's own final norm and LM head turn it into a next-token distribution.
/// </summary>
public sealed class LogitLens(LlamaForCausalLM model, HfTokenizer tokenizer, ChatTemplate? template = null)
{
    readonly ExampleEncoder _encoder = new(tokenizer, template);

    public LogitLens(LoadedModel loaded, ChatTemplate? template = null) : this(loaded.Model, loaded.Tokenizer, template) { }

    public int BatchSize { get; init; } = 32;

    public LensResult Analyze(string name, IReadOnlyList<Example> examples, double threshold = 0.5)
    {
        var items = new List<(Example Example, int[] Prompt, int Gold)>();
        foreach (var e in examples.Where(e => e.Turns.Any(t => t.Role == ChatRole.Assistant)))
        {
            var encoded = _encoder.Encode(e);
            int first = Array.FindIndex(encoded.Labels, l => l != EncodedExample.IgnoreIndex);
            items.Add((e, encoded.InputIds[..first], encoded.Labels[first]));
        }
        if (items.Count == 0) throw new InvalidInputException(name, "no question-answer examples to analyse");

        var facts = new List<LensFact>(items.Count);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            foreach (var chunk in items.Chunk(BatchSize))
            {
                var (ranks, probabilities) = Measure([.. chunk.Select(c => c.Prompt)], [.. chunk.Select(c => c.Gold)]);
                for (int i = 0; i < chunk.Length; i++)
                {
                    var (e, _, gold) = chunk[i];
                    facts.Add(new LensFact(e.Id, e.Question, gold, TokenText(gold), ranks[i], probabilities[i]));
                }
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return new LensResult(name, model.Config.NumHiddenLayers, threshold, facts);
    }

    /// <summary>The token's text; special tokens (which decode to nothing) as their id.</summary>
    string TokenText(int id) => tokenizer.Decode([id]) is { Length: > 0 } text ? text : $"<{id}>";

    /// <summary>Per prompt and per layer point, the gold token's rank and probability.</summary>
    (int[][] Ranks, double[][] Probabilities) Measure(int[][] prompts, int[] gold)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int batch = prompts.Length, width = prompts.Max(p => p.Length);
        var ids = new long[batch * width];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < width; t++) ids[b * width + t] = t < prompts[b].Length ? prompts[b][t] : prompts[b][^1];
        var device = model.Device;
        var input = tensor(ids, [batch, width], ScalarType.Int64, device);
        // Right padding: causal attention keeps the padding out of every real position.
        var residuals = new List<Tensor>();
        model.Model.Forward(input, LlamaForCausalLM.DefaultPositions(input, 0), null, null, residuals);
        var last = tensor(prompts.Select(p => (long)p.Length - 1).ToArray(), ScalarType.Int64, device);
        var rows = arange(batch, ScalarType.Int64, device);
        var goldIds = tensor(gold.Select(g => (long)g).ToArray(), ScalarType.Int64, device).unsqueeze(1);
        var ranks = new int[batch][];
        var probabilities = new double[batch][];
        for (int b = 0; b < batch; b++) { ranks[b] = new int[residuals.Count]; probabilities[b] = new double[residuals.Count]; }
        for (int layer = 0; layer < residuals.Count; layer++)
        {
            var states = residuals[layer].index(rows, last);                            // [batch, hidden]
            var logits = model.LmHead(model.Model.Norm.Forward(states));
            if (logits.dtype != ScalarType.Float64) logits = logits.to(ScalarType.Float32);
            var goldLogit = logits.gather(1, goldIds);
            var rank = logits.gt(goldLogit).sum(1).cpu().data<long>().ToArray();
            var probability = nn.functional.softmax(logits, 1).gather(1, goldIds).squeeze(1).to(ScalarType.Float64).cpu().data<double>().ToArray();
            for (int b = 0; b < batch; b++) { ranks[b][layer] = (int)rank[b]; probabilities[b][layer] = probability[b]; }
        }
        return (ranks, probabilities);
    }
}
