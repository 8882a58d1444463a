using System.Runtime.CompilerServices;
using Remix.Runtime;
using static Remix.Models.Kernels.CpuKernels;
using static TorchSharp.torch;

namespace Remix.Models.Kernels;

/// <summary>
/// One greedy decoding step for a whole batch in Remix's own kernels: per layer RMSNorm, the q/k/v projections (with
/// their biases), RoPE at each row's own position, the new keys and values written into the <see cref="KvCache"/>,
/// attention over the cache (padding and sliding window as <see cref="AttentionMask"/> builds them), the o-projection,
/// SwiGLU and the residuals; then the final norm, the LM head and argmax. It replaces some 60 libtorch calls per layer,
/// whose dispatch costs more than the arithmetic at small sizes, with five loops per layer on the
/// <see cref="IntraOpParallel"/> threads.
/// </summary>
/// <remarks>
/// Weights are read in place from the model's float32 parameters; the work buffers, and a transposed copy of the cached
/// keys for attention's scores, are allocated once per decoder (one generation call). A projection reads each weight row
/// once per step for the whole batch and splits its output rows over the threads in blocks of whole cache lines. Below a
/// vector of batch rows each output is a dot product (one vector accumulator over the input in order, a horizontal sum,
/// a scalar tail: tiles of 4 weight rows by 2 batch rows); from a vector of rows on, vectors run over the batch and each
/// output is one fused multiply-add chain over the input (<see cref="ProjectByColumns"/>). Either way an output's
/// arithmetic is fixed, whatever the tile or the thread, so the results do not depend on the thread count. Logits agree
/// with libtorch's within float32 rounding, not bit for bit.
/// </remarks>
internal sealed unsafe class CpuDecoder
{
    /// <summary>Multiply-adds below which a loop runs on the calling thread: a parallel dispatch costs about this much.</summary>
    const long ParallelWork = 1 << 15;

    readonly int _batch, _hidden, _heads, _kvHeads, _headDim, _intermediate, _vocab, _capacity, _columns, _layers;
    readonly int? _window;
    readonly float _eps;
    readonly int[] _padCount;
    readonly KvCache _cache;
    readonly Layer[] _layerWeights;
    readonly float* _embedding, _finalNorm, _lmHead;

    int _transposed; // positions of the cache copied into the transposed keys

    // Work buffers, pinned: [batch, ...] rows.
    readonly float[][] _keysT; // per layer, what Layer.KeysT points into
    readonly float[] _xT; // a projection's input transposed, [in, batch rounded up to whole 512-bit vectors], for ProjectByColumns
    readonly int _batchColumns;
    readonly bool _byColumns;
    readonly float[] _x, _normed, _q, _k, _v, _attended, _gate, _up, _product, _logits, _scores, _cos, _signedSin;
    readonly int[] _next;
    readonly Plan[] _qkv, _output, _gateUp, _down;
    readonly Plan _head;
    readonly int _threads, _vectorBits;

    /// <summary>One layer's parameters: pointers into the model's tensors.</summary>
    sealed class Layer
    {
        public float* InputNorm, PostNorm, Q, K, V, O, Gate, Up, Down, QBias, KBias, VBias, OBias, GateBias, UpBias, DownBias;
        public float* Keys, Values; // the cache's [batch, kv_heads, capacity, head_dim]
        public float* KeysT; // the same keys transposed: [batch, kv_heads, head_dim, key columns]
    }

    /// <summary>
    /// y[b, o] (+)= bias[o] + Σᵢ x[b, i]·w[o, i] for the rows of one weight; with <see cref="Up"/> also the SwiGLU product.
    /// <see cref="Transposed"/>: the gate, up and product are [out, batch columns] (what the next projection reads over the
    /// batch) rather than [batch, out]; <see cref="InputTransposed"/>: <see cref="X"/> is already so.
    /// </summary>
    sealed class Segment
    {
        public float* W, Bias, X, Y;
        public int In, Out;
        public bool Accumulate, Transposed, InputTransposed;
        public float* Up, UpBias, UpY, Product; // gate/up pairs: Product[b, o] = silu(Y[b, o])·UpY[b, o]
    }

    /// <summary>Projections that run in one parallel loop, cut into blocks of output rows.</summary>
    sealed class Plan(Segment[] segments, (int Segment, int Start, int End)[] blocks, bool parallel)
    {
        public readonly Segment[] Segments = segments;
        public readonly (int Segment, int Start, int End)[] Blocks = blocks;
        public readonly bool Parallel = parallel;
    }

    /// <summary>
    /// Whether the decoder runs <paramref name="model"/>: float32 on the CPU, built with <see cref="KernelChoice.Auto"/>, no LoRA
    /// adapter attached (merged ones are part of the weights), every parameter contiguous and an even head size.
    /// </summary>
    public static bool Supports(LlamaForCausalLM model) => Accelerated && SupportsModel(model);

    /// <summary>
    /// Whether the model is one the decoder runs at a width given explicitly (float32 on the CPU, kernels auto, no
    /// adapters, contiguous parameters), whatever this process's own width: what its constructor checks.
    /// </summary>
    public static bool SupportsModel(LlamaForCausalLM model)
    {
        var c = model.Config;
        if (model.Kernels != KernelChoice.Auto || model.DType != ScalarType.Float32 || model.Device.type != TorchSharp.DeviceType.CPU) return false;
        if (c.HeadDim % 2 != 0 || c.NumKeyValueHeads <= 0 || c.NumAttentionHeads % c.NumKeyValueHeads != 0) return false;
        if (Lora.HasAdapters(model)) return false;
        return model.parameters().All(IsPlainCpuFloat32);
    }

    /// <summary>
    /// Whether a decoder for <paramref name="batch"/> rows over a cache of <paramref name="capacity"/> positions fits the
    /// 32-bit element counts its buffers and the cache's spans use; a larger generation stays on the forward pass.
    /// </summary>
    public static bool Fits(LlamaConfig c, long batch, long capacity)
    {
        const long limit = int.MaxValue / sizeof(float);
        long widest = Math.Max(Math.Max(c.HiddenSize, (long)c.NumAttentionHeads * c.HeadDim), Math.Max(c.IntermediateSize, c.VocabSize));
        long columns = KeyColumns(capacity), batchColumns = (batch + 15) / 16 * 16; // the transposed keys and inputs, rounded up
        return batch * c.NumKeyValueHeads * columns * c.HeadDim < limit && batch * c.NumAttentionHeads * columns < limit && batchColumns * widest < limit;
    }

    /// <summary>
    /// Positions a row of the transposed keys holds: <paramref name="capacity"/> rounded up to whole 512-bit vectors, then to an
    /// odd number of them, so that the head_dim rows a score block reads are not a power of two apart (which would map them
    /// to the same cache sets).
    /// </summary>
    static long KeyColumns(long capacity) => (capacity + 15) / 16 * 16 | 16;

    /// <summary>
    /// A decoder for one row per entry of <paramref name="padCount"/> that continues after the prompts already in <paramref name="cache"/>,
    /// row b left-padded by <paramref name="padCount"/>[b] positions (masked out of attention). <paramref name="vectorBits"/>
    /// (128, 256 or 512) sets the vector width, <see cref="CpuKernels.VectorBits"/> by default (tests run each width).
    /// </summary>
    public CpuDecoder(LlamaForCausalLM model, KvCache cache, int[] padCount, int? vectorBits = null)
    {
        _vectorBits = vectorBits ?? VectorBits;
        if (_vectorBits is not (128 or 256 or 512)) throw new ArgumentException($"vector width {_vectorBits}: expected 128, 256 or 512 bits");
        if (!SupportsModel(model)) throw new ArgumentException("the model is not one the CPU decoder runs (float32 on the CPU, kernels auto, no adapters)");
        var c = model.Config;
        _batch = padCount.Length;
        _hidden = c.HiddenSize;
        _heads = c.NumAttentionHeads;
        _kvHeads = c.NumKeyValueHeads;
        _headDim = c.HeadDim;
        _intermediate = c.IntermediateSize;
        _vocab = c.VocabSize;
        _layers = c.NumHiddenLayers;
        _window = c.SlidingWindow;
        _eps = (float)c.RmsNormEps;
        _capacity = checked((int)cache.Capacity);
        _columns = checked((int)KeyColumns(_capacity));
        _padCount = [.. padCount];
        _cache = cache;
        _threads = Math.Max(1, get_num_threads());

        var p = model.named_parameters().ToDictionary(n => n.name, n => n.parameter);
        float* Get(string name) => Pointer(p[name]);
        float* Optional(string name) => p.TryGetValue(name, out var t) ? Pointer(t) : null;
        _embedding = Get("model.embed_tokens.weight");
        _finalNorm = Get("model.norm.weight");
        _lmHead = c.TieWordEmbeddings ? _embedding : Get("lm_head.weight");
        _layerWeights = new Layer[_layers];
        _keysT = new float[_layers][];
        for (int l = 0; l < _layers; l++)
        {
            string a = $"model.layers.{l}.self_attn.", m = $"model.layers.{l}.mlp.";
            var (keys, values) = (cache.KeysOf(l), cache.ValuesOf(l));
            if (keys.shape[0] != _batch || !IsPlainCpuFloat32(keys) || !IsPlainCpuFloat32(values))
                throw new ArgumentException($"the KV cache does not hold {_batch} rows of contiguous float32 on the CPU");
            _layerWeights[l] = new Layer
            {
                InputNorm = Get($"model.layers.{l}.input_layernorm.weight"),
                PostNorm = Get($"model.layers.{l}.post_attention_layernorm.weight"),
                Q = Get(a + "q_proj.weight"), K = Get(a + "k_proj.weight"), V = Get(a + "v_proj.weight"), O = Get(a + "o_proj.weight"),
                QBias = Optional(a + "q_proj.bias"), KBias = Optional(a + "k_proj.bias"), VBias = Optional(a + "v_proj.bias"), OBias = Optional(a + "o_proj.bias"),
                Gate = Get(m + "gate_proj.weight"), Up = Get(m + "up_proj.weight"), Down = Get(m + "down_proj.weight"),
                GateBias = Optional(m + "gate_proj.bias"), UpBias = Optional(m + "up_proj.bias"), DownBias = Optional(m + "down_proj.bias"),
                Keys = Pointer(keys), Values = Pointer(values),
            };
            _keysT[l] = Buffer(checked(_batch * _kvHeads * _headDim * _columns));
            _layerWeights[l].KeysT = Address(_keysT[l]);
        }

        int qWidth = _heads * _headDim, kvWidth = _kvHeads * _headDim;
        _x = Buffer(checked(_batch * _hidden));
        _normed = Buffer(checked(_batch * _hidden));
        _q = Buffer(checked(_batch * qWidth));
        _k = Buffer(checked(_batch * kvWidth));
        _v = Buffer(checked(_batch * kvWidth));
        _attended = Buffer(checked(_batch * qWidth));
        _byColumns = _batch * 32 >= _vectorBits;
        _batchColumns = (_batch + 15) / 16 * 16; // as Fits counts it
        // Over the batch, the gate, up and product are [intermediate, batch columns]: the product is then already the down
        // projection's input as it reads it, with neither a scatter of the gate's and up's outputs nor a transposition of it.
        int mlpRows = _byColumns ? _batchColumns : _batch;
        _gate = Buffer(checked(mlpRows * _intermediate));
        _up = Buffer(checked(mlpRows * _intermediate));
        _product = Buffer(checked(mlpRows * _intermediate));
        _logits = Buffer(checked(_batch * _vocab));
        _scores = Buffer(checked(_batch * _heads * _columns));
        _next = new int[_batch];
        _xT = Buffer(_byColumns ? checked(Math.Max(Math.Max(_hidden, qWidth), _intermediate) * _batchColumns) : 1);
        (_cos, _signedSin) = RopeTables(c, _capacity);

        _qkv = new Plan[_layers];
        _output = new Plan[_layers];
        _gateUp = new Plan[_layers];
        _down = new Plan[_layers];
        float* x = Address(_x), normed = Address(_normed), attended = Address(_attended), product = Address(_product);
        for (int l = 0; l < _layers; l++)
        {
            var w = _layerWeights[l];
            _qkv[l] = MakePlan(
                new Segment { W = w.Q, Bias = w.QBias, X = normed, Y = Address(_q), In = _hidden, Out = qWidth },
                new Segment { W = w.K, Bias = w.KBias, X = normed, Y = Address(_k), In = _hidden, Out = kvWidth },
                new Segment { W = w.V, Bias = w.VBias, X = normed, Y = Address(_v), In = _hidden, Out = kvWidth });
            _output[l] = MakePlan(new Segment { W = w.O, Bias = w.OBias, X = attended, Y = x, In = qWidth, Out = _hidden, Accumulate = true });
            _gateUp[l] = MakePlan(new Segment
            {
                W = w.Gate, Bias = w.GateBias, X = normed, Y = Address(_gate), In = _hidden, Out = _intermediate,
                Up = w.Up, UpBias = w.UpBias, UpY = Address(_up), Product = product, Transposed = _byColumns,
            });
            _down[l] = MakePlan(new Segment { W = w.Down, Bias = w.DownBias, X = product, Y = x, In = _intermediate, Out = _hidden, Accumulate = true, InputTransposed = _byColumns });
        }
        _head = MakePlan(new Segment { W = _lmHead, X = normed, Y = Address(_logits), In = _hidden, Out = _vocab });
    }

    /// <summary>The logits of the last <see cref="Step"/>, [batch, vocab] row-major.</summary>
    public ReadOnlySpan<float> Logits => new(Address(_logits), _batch * _vocab);

    /// <summary>
    /// Feeds <paramref name="tokens"/> (one per row) at the cache's next position, appends their keys and values to the
    /// cache (and advances it), and returns each row's greedy next token: the first index of the largest logit, as
    /// torch.argmax picks it (a NaN counts as the largest).
    /// </summary>
    public int[] Step(IReadOnlyList<int> tokens)
    {
        if (tokens.Count != _batch) throw new ArgumentException($"expected {_batch} tokens, found {tokens.Count}");
        int index = checked((int)_cache.Length);
        if (index >= _capacity) throw new InvalidOperationException($"KV cache holds {_capacity} positions; {index + 1} were needed.");
        if (index < _transposed) throw new InvalidOperationException($"the KV cache went back from {_transposed} positions to {index}; a decoder continues one generation");
        if (index > _transposed) // what the prefill (or any forward pass since) cached
        {
            foreach (var layer in _layerWeights) TransposeCachedKeys(layer, _transposed, index);
            _transposed = index;
        }
        for (int b = 0; b < _batch; b++)
        {
            int token = tokens[b];
            if ((uint)token >= (uint)_vocab) throw new ArgumentException($"token id {token} is outside the model's vocabulary (0..{_vocab - 1})");
            new ReadOnlySpan<float>(_embedding + (long)token * _hidden, _hidden).CopyTo(new Span<float>(Address(_x) + (long)b * _hidden, _hidden));
        }
        switch (_vectorBits)
        {
            case 512: Step<FloatVector512>(index); break;
            case 256: Step<FloatVector256>(index); break;
            default: Step<FloatVector128>(index); break;
        }
        _cache.Advance(1);
        _transposed = index + 1;
        float* logits = Address(_logits);
        For(_batch, (long)_batch * _vocab, b => _next[b] = ArgMax(logits + b * _vocab, _vocab));
        return [.. _next];
    }

    /// <summary>The layers, the final norm and the LM head at the width of <typeparamref name="V"/>, for the embedded tokens in the residual buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Step<V>(int index) where V : unmanaged, IFloatVector<V>
    {
        for (int l = 0; l < _layers; l++)
        {
            var w = _layerWeights[l];
            Normalize<V>(_x, _normed, w.InputNorm);
            Run<V>(_qkv[l]);
            Attend<V>(w, index);
            Run<V>(_output[l]);
            Normalize<V>(_x, _normed, w.PostNorm);
            Run<V>(_gateUp[l]);
            Run<V>(_down[l]);
        }
        Normalize<V>(_x, _normed, _finalNorm);
        Run<V>(_head);
    }

    /// <summary>Cached keys at positions <paramref name="from"/> .. <paramref name="to"/> − 1 into the transposed copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void TransposeCachedKeys(Layer w, int from, int to)
    {
        for (long item = 0; item < (long)_batch * _kvHeads; item++)
        {
            float* keys = w.Keys + item * _capacity * _headDim, columns = w.KeysT + item * _headDim * _columns;
            for (int j = from; j < to; j++)
                for (int x = 0; x < _headDim; x++) columns[(long)x * _columns + j] = keys[(long)j * _headDim + x];
        }
    }

    /// <summary>
    /// A pinned work buffer of at least <paramref name="length"/> floats from its <see cref="Address"/>, which starts on a cache
    /// line: the projections' blocks of whole lines of each output row (<see cref="MakePlan"/>) are whole lines only then.
    /// </summary>
    static float[] Buffer(int length) => GC.AllocateArray<float>(checked(Math.Max(1, length) + Line - 1), pinned: true);

    /// <summary>The first 64-byte boundary in a pinned <see cref="Buffer"/>.</summary>
    static float* Address(float[] pinned) => (float*)(((nint)Unsafe.AsPointer(ref pinned[0]) + (Line * sizeof(float) - 1)) & ~(nint)(Line * sizeof(float) - 1));

    /// <summary>Floats per 64-byte cache line.</summary>
    const int Line = 64 / sizeof(float);

    /// <summary>A pinned <see cref="Buffer"/> holding a contiguous float32 CPU tensor's values.</summary>
    static float[] Pinned(Tensor values)
    {
        int length = checked((int)values.numel());
        var buffer = Buffer(length);
        new ReadOnlySpan<float>(Pointer(values), length).CopyTo(new Span<float>(Address(buffer), length));
        return buffer;
    }

    /// <summary>
    /// cos and (−sin₁, sin₂) for positions 0 .. count − 1, [count, head_dim], from <see cref="RotaryEmbedding"/> itself, in pinned
    /// buffers: attention reads them through pointers on the intra-op threads, and a garbage collection may move an unpinned
    /// array (a table under 85 KB is on the compacting heap) while a worker holds such a pointer.
    /// </summary>
    static (float[] Cos, float[] SignedSin) RopeTables(LlamaConfig c, int count)
    {
        using var scope = NewDisposeScope();
        var rotary = new RotaryEmbedding(c.HeadDim, c.RopeTheta, c.RopeScaling);
        var (cos, signedSin) = rotary.Compute(arange(0, count, ScalarType.Int64).unsqueeze(0), ScalarType.Float32);
        return (Pinned(cos.contiguous()), Pinned(signedSin.contiguous()));
    }

    Plan MakePlan(params Segment[] segments)
    {
        if (segments.Any(s => s.X != segments[0].X || s.In != segments[0].In)) throw new ArgumentException("the projections of a plan share one input");
        long work = (long)_batch * segments.Sum(s => (long)s.In * s.Out * (s.Up is null ? 1 : 2));
        bool parallel = _threads > 1 && work >= ParallelWork;
        long rows = segments.Sum(s => (long)s.Out);
        // About four blocks per thread, of whole 64-byte lines of each output row (16 floats, so whole tiles of four rows
        // too): two threads writing one line of a [batch, out] output in turn would pass it back and forth between their
        // cores on every store (with 8-float blocks, o_proj ran slower on two threads than on one).
        int blockRows = parallel ? (int)Math.Max(16, (rows + 4L * _threads - 1) / (4L * _threads) + 15 & ~15L) : int.MaxValue;
        var blocks = new List<(int, int, int)>();
        for (int s = 0; s < segments.Length; s++)
            for (int start = 0; start < segments[s].Out; start += blockRows)
                blocks.Add((s, start, (int)Math.Min(segments[s].Out, (long)start + blockRows)));
        return new Plan(segments, [.. blocks], parallel && blocks.Count > 1);
    }

    void Run<V>(Plan plan) where V : unmanaged, IFloatVector<V>
    {
        if (_byColumns && !plan.Segments[0].InputTransposed) TransposeInput(plan.Segments[0].X, plan.Segments[0].In);
        if (!plan.Parallel)
        {
            foreach (var block in plan.Blocks) RunBlock<V>(plan.Segments[block.Segment], block.Start, block.End);
            return;
        }
        IntraOpParallel.For(plan.Blocks.Length, i =>
        {
            var (segment, start, end) = plan.Blocks[i];
            RunBlock<V>(plan.Segments[segment], start, end);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void RunBlock<V>(Segment s, int start, int end) where V : unmanaged, IFloatVector<V>
    {
        if (_byColumns)
        {
            float* xT = s.InputTransposed ? s.X : Address(_xT);
            ProjectByColumns<V>(xT, _batch, _batchColumns, s.In, s.W, s.Bias, s.Y, s.Out, start, end, s.Accumulate, s.Transposed);
            if (s.Up is not null) ProjectByColumns<V>(xT, _batch, _batchColumns, s.In, s.Up, s.UpBias, s.UpY, s.Out, start, end, false, s.Transposed);
        }
        else
        {
            Project<V>(s.X, _batch, s.In, s.W, s.Bias, s.Y, s.Out, start, end, s.Accumulate);
            if (s.Up is not null) Project<V>(s.X, _batch, s.In, s.Up, s.UpBias, s.UpY, s.Out, start, end, false);
        }
        if (s.Up is null) return;
        if (s.Transposed)
        {
            // Rows o of [out, batch columns], a vector of batch rows at a time: each value through the same vector code as below.
            for (long o = start; o < end; o++)
                for (long at = o * _batchColumns, stop = at + _batch; at < stop; at += V.Lanes)
                {
                    var g = V.Load(s.Y + at);
                    (g / (V.One + Exp(-g)) * V.Load(s.UpY + at)).Store(s.Product + at);
                }
            return;
        }
        float* g2 = stackalloc float[V.Lanes], u2 = stackalloc float[V.Lanes];
        for (int b = 0; b < _batch; b++)
        {
            long row = (long)b * s.Out;
            float* gate = s.Y + row, up = s.UpY + row, product = s.Product + row;
            int o = start;
            for (; o + V.Lanes <= end; o += V.Lanes)
            {
                var g = V.Load(gate + o);
                (g / (V.One + Exp(-g)) * V.Load(up + o)).Store(product + o);
            }
            if (o == end) continue;
            // The tail through the same vector code, so a value's product does not depend on where a block ends.
            int tail = end - o;
            for (int i = 0; i < tail; i++) (g2[i], u2[i]) = (gate[o + i], up[o + i]);
            var last = V.Load(g2);
            (last / (V.One + Exp(-last)) * V.Load(u2)).Store(g2);
            for (int i = 0; i < tail; i++) product[o + i] = g2[i];
        }
    }

    /// <summary>Runs body(0 .. count − 1) on the intra-op threads when <paramref name="work"/> is worth a dispatch, else here.</summary>
    void For(int count, long work, Action<long> body)
    {
        if (_threads > 1 && count > 1 && work >= ParallelWork) IntraOpParallel.For(count, body);
        else for (long i = 0; i < count; i++) body(i);
    }

    /// <summary>y = weight ⊙ (x · (mean(x²) + eps)^-½) per row of [batch, hidden].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Normalize<V>(float[] x, float[] y, float* weight) where V : unmanaged, IFloatVector<V>
    {
        for (int b = 0; b < _batch; b++)
        {
            float* row = Address(x) + (long)b * _hidden, output = Address(y) + (long)b * _hidden;
            float reciprocal = 1f / MathF.Sqrt(Dot<V>(row, row, _hidden) / _hidden + _eps);
            int i = 0;
            for (var r = V.Create(reciprocal); i + V.Lanes <= _hidden; i += V.Lanes) (V.Load(weight + i) * (V.Load(row + i) * r)).Store(output + i);
            for (; i < _hidden; i++) output[i] = weight[i] * (row[i] * reciprocal);
        }
    }

    /// <summary>
    /// For every (row, kv head): rotates the new key, writes it and the value into the cache at <paramref name="index"/>,
    /// then for each query head of the group rotates the query and attends over the row's visible keys.
    /// </summary>
    void Attend<V>(Layer w, int index) where V : unmanaged, IFloatVector<V>
    {
        long work = (long)_batch * _heads * (index + 1) * _headDim * 2;
        int items = _batch * _kvHeads;
        if (_threads == 1 || items == 1 || work < ParallelWork)
        {
            for (int item = 0; item < items; item++) AttendItem<V>(w, index, item);
            return;
        }
        // Runs of consecutive items, about four a thread: neighbouring items write neighbouring parts of the queries and the
        // attended rows, so items taken one at a time by alternate threads would pass those cache lines between the cores.
        long run = (items + 4L * _threads - 1) / (4L * _threads);
        IntraOpParallel.ForBlocks(items, run, (_, start, end) =>
        {
            for (long item = start; item < end; item++) AttendItem<V>(w, index, (int)item);
        });
    }

    /// <summary>One (row, kv head) of <see cref="Attend"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void AttendItem<V>(Layer w, int index, int item) where V : unmanaged, IFloatVector<V>
    {
        int groups = _heads / _kvHeads, d = _headDim;
        int b = item / _kvHeads, g = item % _kvHeads;
        int position = index - _padCount[b];
        float* c = Address(_cos) + (long)position * d, s = Address(_signedSin) + (long)position * d;
        long slot = (long)item * _capacity * d;
        float* keys = w.Keys + slot, values = w.Values + slot, keysT = w.KeysT + (long)item * d * _columns;
        float* key = keys + (long)index * d;
        Rotate<V>(Address(_k) + (long)item * d, key, c, s, d);
        for (int x = 0; x < d; x++) keysT[(long)x * _columns + index] = key[x];
        new ReadOnlySpan<float>(Address(_v) + (long)item * d, d).CopyTo(new Span<float>(values + (long)index * d, d));
        int lowestVisible = _window is { } window ? Math.Max(0, index - window + 1) : 0;
        int first = Math.Max(lowestVisible, _padCount[b]);
        long head = (long)b * _heads + g * groups;
        for (int member = 0; member < groups; member++) Rotate<V>(Address(_q) + (head + member) * d, Address(_q) + (head + member) * d, c, s, d);
        int m = 0;
        for (; m + 2 <= groups; m += 2) AttendGroup<V, Two>(head + m, keysT, values, first, index);
        if (m < groups) AttendGroup<V, One>(head + m, keysT, values, first, index);
    }

    /// <summary>How many query heads of a group one pass over the keys and values attends for (1 or 2): a constant to the JIT.</summary>
    interface IMembers { static abstract int Count { get; } }

    struct One : IMembers { public static int Count => 1; }

    struct Two : IMembers { public static int Count => 2; }

    /// <summary>
    /// softmax(q·kⱼ / √d) over keys first .. last, then Σ pⱼ vⱼ, for <typeparamref name="M"/> query heads from
    /// <paramref name="head"/> (row-major [batch · heads]) of one kv head, which share each key and value loaded. The scores
    /// run over <paramref name="keysT"/>, [head_dim, key columns], a vector of keys at a time (no horizontal sums); lanes outside
    /// first .. last are masked to −∞, whatever the transposed copy holds there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void AttendGroup<V, M>(long head, float* keysT, float* values, int first, int last) where V : unmanaged, IFloatVector<V> where M : IMembers
    {
        int d = _headDim, lanes = V.Lanes, start = first / lanes * lanes;
        long columns = _columns;
        float* q0 = Address(_q) + head * d, q1 = q0 + d;
        float* s0 = Address(_scores) + head * columns, s1 = s0 + columns;
        var scale = V.Create(1f / MathF.Sqrt(d));
        V max0 = V.Create(float.NegativeInfinity), max1 = max0;
        int j = start;
        // Two vectors of keys at a time, so that each query element broadcast serves both (the broadcasts, not the
        // multiply-adds, are what a block of keys waits on at small head sizes); every score is the same chain over x.
        for (; j + lanes <= last; j += 2 * lanes)
        {
            V score0 = V.Zero, score1 = V.Zero, next0 = V.Zero, next1 = V.Zero;
            float* column = keysT + j;
            for (int x = 0; x < d; x++, column += columns)
            {
                V key = V.Load(column), nextKey = V.Load(column + lanes), query = V.Create(q0[x]);
                score0 = V.FusedMultiplyAdd(query, key, score0);
                next0 = V.FusedMultiplyAdd(query, nextKey, next0);
                if (M.Count == 2)
                {
                    query = V.Create(q1[x]);
                    score1 = V.FusedMultiplyAdd(query, key, score1);
                    next1 = V.FusedMultiplyAdd(query, nextKey, next1);
                }
            }
            max0 = V.Max(max0, StoreVisible(score0 * scale, s0, j, first, last));
            max0 = V.Max(max0, StoreVisible(next0 * scale, s0, j + lanes, first, last));
            if (M.Count == 2)
            {
                max1 = V.Max(max1, StoreVisible(score1 * scale, s1, j, first, last));
                max1 = V.Max(max1, StoreVisible(next1 * scale, s1, j + lanes, first, last));
            }
        }
        if (j <= last)
        {
            V score0 = V.Zero, score1 = V.Zero;
            float* column = keysT + j;
            for (int x = 0; x < d; x++, column += columns)
            {
                var key = V.Load(column);
                score0 = V.FusedMultiplyAdd(V.Create(q0[x]), key, score0);
                if (M.Count == 2) score1 = V.FusedMultiplyAdd(V.Create(q1[x]), key, score1);
            }
            max0 = V.Max(max0, StoreVisible(score0 * scale, s0, j, first, last));
            if (M.Count == 2) max1 = V.Max(max1, StoreVisible(score1 * scale, s1, j, first, last));
        }
        V largest0 = V.Create(V.MaxAcross(max0)), largest1 = M.Count == 2 ? V.Create(V.MaxAcross(max1)) : V.Zero;
        V sum0 = V.Zero, sum1 = V.Zero;
        for (j = start; j <= last; j += lanes)
        {
            var e = Exp(V.Load(s0 + j) - largest0);
            e.Store(s0 + j);
            sum0 += e;
            if (M.Count == 2)
            {
                e = Exp(V.Load(s1 + j) - largest1);
                e.Store(s1 + j);
                sum1 += e;
            }
        }
        var weights = new Weights(s0, s1, 1f / V.Sum(sum0), M.Count == 2 ? 1f / V.Sum(sum1) : 0, Address(_attended) + head * d);
        if (d >= lanes) WeightedValues<V, M>(weights, values, first, last, d);
        else if (d >= FloatVector256.Lanes && V.Bits > 256) WeightedValues<FloatVector256, M>(weights, values, first, last, d);
        else if (d >= FloatVector128.Lanes && V.Bits > 128) WeightedValues<FloatVector128, M>(weights, values, first, last, d);
        else WeightedValues<V, M>(weights, values, first, last, d);
    }

    /// <summary>Stores the scores of keys j .. j + lanes − 1 at <paramref name="scores"/> + j, −∞ in the lanes outside first .. last, and returns them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static V StoreVisible<V>(V score, float* scores, int j, int first, int last) where V : unmanaged, IFloatVector<V>
    {
        var negativeInfinity = V.Create(float.NegativeInfinity);
        if (j < first) score = V.ConditionalSelect(V.FirstLanes(first - j), negativeInfinity, score);
        if (j + V.Lanes > last + 1) score = V.ConditionalSelect(V.FirstLanes(last + 1 - j), score, negativeInfinity);
        score.Store(scores + j);
        return score;
    }

    /// <summary>Each member's unnormalised softmax weights, the reciprocal of their sum, and the member's first output (the next at + head_dim).</summary>
    readonly struct Weights(float* first, float* second, float firstReciprocal, float secondReciprocal, float* output)
    {
        public readonly float* First = first, Second = second, Output = output;
        public readonly float FirstReciprocal = firstReciprocal, SecondReciprocal = secondReciprocal;
    }

    /// <summary>
    /// output = reciprocal · Σⱼ weights[j]·values[j, :] over j in first .. last for each member, at the width of
    /// <typeparamref name="W"/> (at most d lanes where one fits): per vector of the output, four accumulators a member over j
    /// (j − first mod 4), added in pairs at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void WeightedValues<W, M>(Weights p, float* values, int first, int last, int d) where W : unmanaged, IFloatVector<W> where M : IMembers
    {
        float* p0 = p.First, p1 = p.Second, out0 = p.Output, out1 = out0 + d;
        int i = 0;
        for (; i + W.Lanes <= d; i += W.Lanes)
        {
            // Four chains a member (j mod 4): with two, each multiply-add waited on the one before it in its chain.
            W a0 = W.Zero, b0 = W.Zero, c0 = W.Zero, e0 = W.Zero, a1 = W.Zero, b1 = W.Zero, c1 = W.Zero, e1 = W.Zero;
            float* value = values + i;
            int j = first;
            for (; j + 4 <= last + 1; j += 4)
            {
                float* row = value + (long)j * d;
                W v0 = W.Load(row), v1 = W.Load(row + d), v2 = W.Load(row + 2 * d), v3 = W.Load(row + 3 * d);
                a0 = W.FusedMultiplyAdd(W.Create(p0[j]), v0, a0);
                b0 = W.FusedMultiplyAdd(W.Create(p0[j + 1]), v1, b0);
                c0 = W.FusedMultiplyAdd(W.Create(p0[j + 2]), v2, c0);
                e0 = W.FusedMultiplyAdd(W.Create(p0[j + 3]), v3, e0);
                if (M.Count == 2)
                {
                    a1 = W.FusedMultiplyAdd(W.Create(p1[j]), v0, a1);
                    b1 = W.FusedMultiplyAdd(W.Create(p1[j + 1]), v1, b1);
                    c1 = W.FusedMultiplyAdd(W.Create(p1[j + 2]), v2, c1);
                    e1 = W.FusedMultiplyAdd(W.Create(p1[j + 3]), v3, e1);
                }
            }
            for (; j <= last; j++) // the last one to three keys, into the chains in the same order
            {
                var v = W.Load(value + (long)j * d);
                switch ((j - first) & 3)
                {
                    case 0: a0 = W.FusedMultiplyAdd(W.Create(p0[j]), v, a0); if (M.Count == 2) a1 = W.FusedMultiplyAdd(W.Create(p1[j]), v, a1); break;
                    case 1: b0 = W.FusedMultiplyAdd(W.Create(p0[j]), v, b0); if (M.Count == 2) b1 = W.FusedMultiplyAdd(W.Create(p1[j]), v, b1); break;
                    default: c0 = W.FusedMultiplyAdd(W.Create(p0[j]), v, c0); if (M.Count == 2) c1 = W.FusedMultiplyAdd(W.Create(p1[j]), v, c1); break;
                }
            }
            (((a0 + b0) + (c0 + e0)) * W.Create(p.FirstReciprocal)).Store(out0 + i);
            if (M.Count == 2) (((a1 + b1) + (c1 + e1)) * W.Create(p.SecondReciprocal)).Store(out1 + i);
        }
        for (; i < d; i++)
        {
            float sum0 = 0, sum1 = 0;
            for (int j = first; j <= last; j++)
            {
                float v = values[(long)j * d + i];
                sum0 = MathF.FusedMultiplyAdd(p0[j], v, sum0);
                if (M.Count == 2) sum1 = MathF.FusedMultiplyAdd(p1[j], v, sum1);
            }
            out0[i] = sum0 * p.FirstReciprocal;
            if (M.Count == 2) out1[i] = sum1 * p.SecondReciprocal;
        }
    }

    /// <summary>The first index of the largest value (a NaN, the first NaN), as torch.argmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int ArgMax(float* values, int count)
    {
        int best = 0;
        float max = values[0];
        if (float.IsNaN(max)) return 0;
        for (int i = 1; i < count; i++)
        {
            float value = values[i];
            if (float.IsNaN(value)) return i;
            if (value > max) (max, best) = (value, i);
        }
        return best;
    }

    /// <summary>Σᵢ a[i]·b[i]: one vector accumulator in order, its horizontal sum, then the scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot<V>(float* a, float* b, int n) where V : unmanaged, IFloatVector<V>
    {
        var acc = V.Zero;
        int i = 0;
        for (; i + V.Lanes <= n; i += V.Lanes)
            acc = V.FusedMultiplyAdd(V.Load(a + i), V.Load(b + i), acc);
        float sum = V.Sum(acc);
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    /// <summary>
    /// y[b, o] = bias[o] + x[b]·w[o] (or y[b, o] += that, when <paramref name="accumulate"/>) for rows o in [start, end) and
    /// every b, in tiles of four weight rows by two batch rows; each dot product as <see cref="Dot"/> computes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Project<V>(float* x, int batch, int n, float* w, float* bias, float* y, int outDim, int start, int end, bool accumulate) where V : unmanaged, IFloatVector<V>
    {
        int o = start;
        for (; o + 4 <= end; o += 4)
        {
            float* w0 = w + (long)o * n, w1 = w0 + n, w2 = w1 + n, w3 = w2 + n;
            int b = 0;
            for (; b + 2 <= batch; b += 2)
            {
                float* x0 = x + (long)b * n, x1 = x0 + n;
                V a00 = V.Zero, a01 = V.Zero, a02 = V.Zero, a03 = V.Zero, a10 = V.Zero, a11 = V.Zero, a12 = V.Zero, a13 = V.Zero;
                int i = 0;
                for (; i + V.Lanes <= n; i += V.Lanes)
                {
                    V v0 = V.Load(x0 + i), v1 = V.Load(x1 + i);
                    var r = V.Load(w0 + i);
                    a00 = V.FusedMultiplyAdd(v0, r, a00);
                    a10 = V.FusedMultiplyAdd(v1, r, a10);
                    r = V.Load(w1 + i);
                    a01 = V.FusedMultiplyAdd(v0, r, a01);
                    a11 = V.FusedMultiplyAdd(v1, r, a11);
                    r = V.Load(w2 + i);
                    a02 = V.FusedMultiplyAdd(v0, r, a02);
                    a12 = V.FusedMultiplyAdd(v1, r, a12);
                    r = V.Load(w3 + i);
                    a03 = V.FusedMultiplyAdd(v0, r, a03);
                    a13 = V.FusedMultiplyAdd(v1, r, a13);
                }
                Store(y, outDim, b, o, Finish<V>(a00, x0, w0, i, n), bias, accumulate);
                Store(y, outDim, b, o + 1, Finish<V>(a01, x0, w1, i, n), bias, accumulate);
                Store(y, outDim, b, o + 2, Finish<V>(a02, x0, w2, i, n), bias, accumulate);
                Store(y, outDim, b, o + 3, Finish<V>(a03, x0, w3, i, n), bias, accumulate);
                Store(y, outDim, b + 1, o, Finish<V>(a10, x1, w0, i, n), bias, accumulate);
                Store(y, outDim, b + 1, o + 1, Finish<V>(a11, x1, w1, i, n), bias, accumulate);
                Store(y, outDim, b + 1, o + 2, Finish<V>(a12, x1, w2, i, n), bias, accumulate);
                Store(y, outDim, b + 1, o + 3, Finish<V>(a13, x1, w3, i, n), bias, accumulate);
            }
            for (; b < batch; b++)
            {
                float* x0 = x + (long)b * n;
                V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero;
                int i = 0;
                for (; i + V.Lanes <= n; i += V.Lanes)
                {
                    var v0 = V.Load(x0 + i);
                    a0 = V.FusedMultiplyAdd(v0, V.Load(w0 + i), a0);
                    a1 = V.FusedMultiplyAdd(v0, V.Load(w1 + i), a1);
                    a2 = V.FusedMultiplyAdd(v0, V.Load(w2 + i), a2);
                    a3 = V.FusedMultiplyAdd(v0, V.Load(w3 + i), a3);
                }
                Store(y, outDim, b, o, Finish<V>(a0, x0, w0, i, n), bias, accumulate);
                Store(y, outDim, b, o + 1, Finish<V>(a1, x0, w1, i, n), bias, accumulate);
                Store(y, outDim, b, o + 2, Finish<V>(a2, x0, w2, i, n), bias, accumulate);
                Store(y, outDim, b, o + 3, Finish<V>(a3, x0, w3, i, n), bias, accumulate);
            }
        }
        for (; o < end; o++)
            for (int b = 0; b < batch; b++)
                Store(y, outDim, b, o, Dot<V>(x + (long)b * n, w + (long)o * n, n), bias, accumulate);
    }

    /// <summary>x [batch, n] into <see cref="_xT"/> [n, batch columns]; the columns past the batch stay zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void TransposeInput(float* x, int n)
    {
        float* xT = Address(_xT);
        for (int b = 0; b < _batch; b++)
        {
            float* row = x + (long)b * n;
            for (int i = 0; i < n; i++) xT[(long)i * _batchColumns + b] = row[i];
        }
    }

    /// <summary>
    /// <see cref="Project"/> for batches of at least a vector of rows: vectors run over the batch, reading the input transposed
    /// (<paramref name="xT"/>, [n, <paramref name="columns"/>]) with each weight broadcast, in tiles of four weight rows by two
    /// vectors of batch rows. Every y[b, o] is then one fused multiply-add chain over i in order, whatever the tile, the
    /// block or the thread; no horizontal sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ProjectByColumns<V>(float* xT, int batch, int columns, int n, float* w, float* bias, float* y, int outDim, int start, int end, bool accumulate, bool transposed) where V : unmanaged, IFloatVector<V>
    {
        if (transposed && accumulate) throw new ArgumentException("a transposed output is not accumulated into");
        int lanes = V.Lanes, vectors = (batch + lanes - 1) / lanes;
        float* lane = stackalloc float[lanes];
        int o = start;
        for (; o + 4 <= end; o += 4)
        {
            float* w0 = w + (long)o * n, w1 = w0 + n, w2 = w1 + n, w3 = w2 + n;
            int v = 0;
            for (; v + 2 <= vectors; v += 2)
            {
                float* x = xT + v * lanes;
                V a00 = V.Zero, a01 = V.Zero, a10 = V.Zero, a11 = V.Zero, a20 = V.Zero, a21 = V.Zero, a30 = V.Zero, a31 = V.Zero;
                for (int i = 0; i < n; i++, x += columns)
                {
                    V x0 = V.Load(x), x1 = V.Load(x + lanes);
                    var r = V.Create(w0[i]);
                    a00 = V.FusedMultiplyAdd(r, x0, a00);
                    a01 = V.FusedMultiplyAdd(r, x1, a01);
                    r = V.Create(w1[i]);
                    a10 = V.FusedMultiplyAdd(r, x0, a10);
                    a11 = V.FusedMultiplyAdd(r, x1, a11);
                    r = V.Create(w2[i]);
                    a20 = V.FusedMultiplyAdd(r, x0, a20);
                    a21 = V.FusedMultiplyAdd(r, x1, a21);
                    r = V.Create(w3[i]);
                    a30 = V.FusedMultiplyAdd(r, x0, a30);
                    a31 = V.FusedMultiplyAdd(r, x1, a31);
                }
                int b = v * lanes;
                Put(a00, lane, y, outDim, b, batch, o, bias, accumulate, transposed, columns);
                Put(a01, lane, y, outDim, b + lanes, batch, o, bias, accumulate, transposed, columns);
                Put(a10, lane, y, outDim, b, batch, o + 1, bias, accumulate, transposed, columns);
                Put(a11, lane, y, outDim, b + lanes, batch, o + 1, bias, accumulate, transposed, columns);
                Put(a20, lane, y, outDim, b, batch, o + 2, bias, accumulate, transposed, columns);
                Put(a21, lane, y, outDim, b + lanes, batch, o + 2, bias, accumulate, transposed, columns);
                Put(a30, lane, y, outDim, b, batch, o + 3, bias, accumulate, transposed, columns);
                Put(a31, lane, y, outDim, b + lanes, batch, o + 3, bias, accumulate, transposed, columns);
            }
            for (; v < vectors; v++)
            {
                float* x = xT + v * lanes;
                V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero;
                for (int i = 0; i < n; i++, x += columns)
                {
                    var x0 = V.Load(x);
                    a0 = V.FusedMultiplyAdd(V.Create(w0[i]), x0, a0);
                    a1 = V.FusedMultiplyAdd(V.Create(w1[i]), x0, a1);
                    a2 = V.FusedMultiplyAdd(V.Create(w2[i]), x0, a2);
                    a3 = V.FusedMultiplyAdd(V.Create(w3[i]), x0, a3);
                }
                int b = v * lanes;
                Put(a0, lane, y, outDim, b, batch, o, bias, accumulate, transposed, columns);
                Put(a1, lane, y, outDim, b, batch, o + 1, bias, accumulate, transposed, columns);
                Put(a2, lane, y, outDim, b, batch, o + 2, bias, accumulate, transposed, columns);
                Put(a3, lane, y, outDim, b, batch, o + 3, bias, accumulate, transposed, columns);
            }
        }
        for (; o < end; o++)
        {
            float* wo = w + (long)o * n;
            for (int v = 0; v < vectors; v++)
            {
                float* x = xT + v * lanes;
                var a = V.Zero;
                for (int i = 0; i < n; i++, x += columns) a = V.FusedMultiplyAdd(V.Create(wo[i]), V.Load(x), a);
                Put(a, lane, y, outDim, v * lanes, batch, o, bias, accumulate, transposed, columns);
            }
        }
    }

    /// <summary>
    /// Lane l of <paramref name="acc"/> as y[b + l, o] (see <see cref="Store"/>), for the lanes that are batch rows; or, with
    /// <paramref name="transposed"/>, the whole vector plus bias[o] at y[o, b ..] of [out, <paramref name="columns"/>] (the same
    /// sum per lane).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put<V>(V acc, float* lane, float* y, int outDim, int b, int batch, int o, float* bias, bool accumulate, bool transposed, int columns) where V : unmanaged, IFloatVector<V>
    {
        if (transposed)
        {
            (bias is null ? acc : acc + V.Create(bias[o])).Store(y + (long)o * columns + b);
            return;
        }
        acc.Store(lane);
        int count = Math.Min(V.Lanes, batch - b);
        for (int l = 0; l < count; l++) Store(y, outDim, b + l, o, lane[l], bias, accumulate);
    }

    /// <summary>The horizontal sum of a dot product's accumulator and its scalar tail from <paramref name="i"/>, as in <see cref="Dot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Finish<V>(V acc, float* a, float* b, int i, int n) where V : unmanaged, IFloatVector<V>
    {
        float sum = V.Sum(acc);
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* y, int outDim, int b, int o, float dot, float* bias, bool accumulate)
    {
        float value = bias is null ? dot : dot + bias[o];
        ref float target = ref y[(long)b * outDim + o];
        target = accumulate ? target + value : value;
    }
}
