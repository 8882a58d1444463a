using Remix.Models;
using static TorchSharp.torch;

namespace Remix.Tests.Support;

/// <summary>
/// An independent, loop-by-loop Llama forward pass in double precision over one sequence, written
/// from the equations (RMSNorm, rotate-half RoPE, GQA causal attention, SwiGLU), to check the
/// tensor implementation against.
/// </summary>
public sealed class NaiveLlama
{
    readonly LlamaConfig _c;
    readonly Dictionary<string, double[]> _w = new();

    public NaiveLlama(LlamaForCausalLM model)
    {
        _c = model.Config;
        foreach (var (name, p) in model.named_parameters())
        {
            using var d = p.detach().to(ScalarType.Float64);
            _w[name] = d.data<double>().ToArray();
        }
    }

    double[] W(string name) => _w[name];
    double[]? B(string name) => _w.TryGetValue(name, out var b) ? b : null;

    static double[] MatVec(double[] w, double[]? bias, double[] x, int outDim)
    {
        int inDim = x.Length;
        var y = new double[outDim];
        for (int o = 0; o < outDim; o++)
        {
            double s = bias?[o] ?? 0;
            for (int i = 0; i < inDim; i++) s += w[o * inDim + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    double[] Norm(double[] x, double[] weight)
    {
        double ms = x.Sum(v => v * v) / x.Length;
        double r = 1 / Math.Sqrt(ms + _c.RmsNormEps);
        return x.Select((v, i) => v * r * weight[i]).ToArray();
    }

    double[] Rope(double[] head, int position)
    {
        int d = head.Length, half = d / 2;
        var o = new double[d];
        for (int i = 0; i < half; i++)
        {
            double angle = position * Math.Pow(_c.RopeTheta, -2.0 * i / d);
            double c = Math.Cos(angle), s = Math.Sin(angle);
            o[i] = head[i] * c - head[i + half] * s;
            o[i + half] = head[i + half] * c + head[i] * s;
        }
        return o;
    }

    /// <summary>Logits [seq][vocab] for one sequence at positions 0..seq-1.</summary>
    public double[][] Forward(long[] ids)
    {
        int h = _c.HiddenSize, d = _c.HeadDim, heads = _c.NumAttentionHeads, kvHeads = _c.NumKeyValueHeads, n = ids.Length;
        var x = ids.Select(id => W("model.embed_tokens.weight").Skip((int)id * h).Take(h).ToArray()).ToArray();
        for (int l = 0; l < _c.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            var q = new double[n][]; var k = new double[n][]; var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var xn = Norm(x[t], W(p + "input_layernorm.weight"));
                q[t] = MatVec(W(p + "self_attn.q_proj.weight"), B(p + "self_attn.q_proj.bias"), xn, heads * d);
                k[t] = MatVec(W(p + "self_attn.k_proj.weight"), B(p + "self_attn.k_proj.bias"), xn, kvHeads * d);
                v[t] = MatVec(W(p + "self_attn.v_proj.weight"), B(p + "self_attn.v_proj.bias"), xn, kvHeads * d);
                for (int hd = 0; hd < heads; hd++) Rope(q[t][(hd * d)..((hd + 1) * d)], t).CopyTo(q[t], hd * d);
                for (int hd = 0; hd < kvHeads; hd++) Rope(k[t][(hd * d)..((hd + 1) * d)], t).CopyTo(k[t], hd * d);
            }
            var attended = new double[n][];
            for (int t = 0; t < n; t++)
            {
                attended[t] = new double[heads * d];
                for (int hd = 0; hd < heads; hd++)
                {
                    int kv = hd / (heads / kvHeads);
                    int first = _c.SlidingWindow is { } w ? Math.Max(0, t - w + 1) : 0;
                    var scores = new double[t + 1];
                    for (int s = 0; s <= t; s++)
                    {
                        if (s < first) { scores[s] = double.NegativeInfinity; continue; }
                        double dot = 0;
                        for (int i = 0; i < d; i++) dot += q[t][hd * d + i] * k[s][kv * d + i];
                        scores[s] = dot / Math.Sqrt(d);
                    }
                    double max = scores.Max();
                    var e = scores.Select(sc => Math.Exp(sc - max)).ToArray();
                    double z = e.Sum();
                    for (int s = 0; s <= t; s++)
                        for (int i = 0; i < d; i++) attended[t][hd * d + i] += e[s] / z * v[s][kv * d + i];
                }
            }
            for (int t = 0; t < n; t++)
            {
                var o = MatVec(W(p + "self_attn.o_proj.weight"), B(p + "self_attn.o_proj.bias"), attended[t], h);
                var x1 = x[t].Select((val, i) => val + o[i]).ToArray();
                var xn = Norm(x1, W(p + "post_attention_layernorm.weight"));
                var gate = MatVec(W(p + "mlp.gate_proj.weight"), B(p + "mlp.gate_proj.bias"), xn, _c.IntermediateSize);
                var up = MatVec(W(p + "mlp.up_proj.weight"), B(p + "mlp.up_proj.bias"), xn, _c.IntermediateSize);
                var act = gate.Select((g, i) => g / (1 + Math.Exp(-g)) * up[i]).ToArray();
                var down = MatVec(W(p + "mlp.down_proj.weight"), B(p + "mlp.down_proj.bias"), act, h);
                x[t] = x1.Select((val, i) => val + down[i]).ToArray();
            }
        }
        var head = _c.TieWordEmbeddings ? W("model.embed_tokens.weight") : W("lm_head.weight");
        return x.Select(row => MatVec(head, null, Norm(row, W("model.norm.weight")), _c.VocabSize)).ToArray();
    }
}
