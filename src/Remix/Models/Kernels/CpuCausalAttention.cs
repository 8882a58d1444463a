using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Remix.Runtime;
using static Remix.Models.Kernels.CpuKernels;
using static TorchSharp.torch;

namespace Remix.Models.Kernels;

/// <summary>
/// Rotary positions and causal grouped-query attention in float32 on the CPU, forward and backward
/// written out once over vectors of any width (<see cref="IFloatVector{TSelf}"/>), on the projections' own layout: q [batch, seq, heads, d], k and v
/// [batch, seq, kv_heads, d], output [batch, seq, heads, d]. Each row of the batch is one sequence, or the single row
/// holds several sequences one after the other (packed: short examples without padding), each attending only within
/// itself.
/// </summary>
/// <remarks>
/// libtorch's CPU flash-attention kernel is the least efficient part of a training step for small
/// heads (head_dim 32: about 73 GFLOP/s on what it computes, against ~210 for the step's matmuls),
/// it computes keys past the causal limit when the query groups of a kv head are stacked, and it
/// needs the heads transposed in and out. Here each (sequence, kv head) is one work item that owns
/// its outputs: the keys, scaled and transposed, stay in cache while every query row of the group
/// is scored against only the keys it may see, four rows at a time so that each key vector loaded
/// serves four rows. The rotary embedding of q and k (<see cref="RotaryEmbedding.Apply"/>, the same
/// products) is applied as the item copies them, so the rotated projections are never written out,
/// and their gradients are rotated back as they are written. The forward pass keeps the log-sum-exp
/// of each row; the backward pass recomputes the probabilities from it (as flash attention does), so
/// memory stays linear in the sequence length. Every item is computed in a fixed order by one
/// thread, so results do not depend on the number of threads. Used where <see cref="Supports"/>
/// holds (a vector width .NET accelerates, and whole vectors per head); elsewhere the model keeps libtorch's operations.
/// </remarks>
internal static unsafe class CpuCausalAttention
{
    const int Rows = 4;   // query rows scored together

    /// <summary>
    /// Whether these tensors can take this kernel at this process's width (<see cref="CpuKernels.VectorBits"/>): float32,
    /// contiguous, head_dim a multiple of the vector's floats (16 at 512 bits, 8 at 256, 4 at 128), and rotary tables of
    /// [batch, seq, head_dim]; with <paramref name="sequences"/>, a batch of one row whose length they add up to.
    /// </summary>
    public static bool Supports(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor signedSin, IReadOnlyList<int>? sequences = null) =>
        (sequences is null || q.dim() == 4 && AttentionMask.FillOneRow(sequences, q.shape[0], q.shape[1]))
        && Accelerated && IsPlainCpuFloat32(q) && IsPlainCpuFloat32(k) && IsPlainCpuFloat32(v)
        && IsPlainCpuFloat32(cos) && IsPlainCpuFloat32(signedSin)
        && q.dim() == 4 && k.dim() == 4 && v.dim() == 4
        && SupportsHeadDim(q.shape[3]) && k.shape[3] == q.shape[3] && v.shape[3] == q.shape[3]
        && k.shape[0] == q.shape[0] && k.shape[1] == q.shape[1] && v.shape[0] == q.shape[0] && v.shape[1] == q.shape[1]
        && k.shape[2] > 0 && q.shape[2] % k.shape[2] == 0 && v.shape[2] == k.shape[2]
        && cos.shape.SequenceEqual([q.shape[0], q.shape[1], q.shape[3]]) && signedSin.shape.SequenceEqual(cos.shape);

    /// <summary>Whether heads of <paramref name="headDim"/> floats are whole vectors at this process's width (and the kernel runs at all).</summary>
    public static bool SupportsHeadDim(long headDim) => Accelerated && headDim > 0 && headDim % Lanes == 0;

    /// <summary>
    /// softmax(rope(q)·rope(k)ᵀ/√d + causal mask)·v, each query head attending to its group's kv head, with rope the
    /// rotation by the tables of <see cref="RotaryEmbedding.Compute"/>; differentiable in q, k and v. With
    /// <paramref name="sequences"/>, the single row holds sequences of those lengths one after the other, and the causal
    /// mask is also one between them: a query sees the keys of its own sequence up to itself. A sequence's result is then
    /// bit for bit the one it gets alone (or as a row of a batch, where it is longest), since every row of scores is
    /// computed over the keys it sees only.
    /// </summary>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor signedSin, IReadOnlyList<int>? sequences = null) => VectorBits switch
    {
        512 => Apply<FloatVector512>(q, k, v, cos, signedSin, sequences),
        256 => Apply<FloatVector256>(q, k, v, cos, signedSin, sequences),
        _ => Apply<FloatVector128>(q, k, v, cos, signedSin, sequences),
    };

    /// <summary><see cref="Apply"/> at the width of <typeparamref name="V"/>, which need not be this process's (tests run each).</summary>
    public static Tensor Apply<V>(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor signedSin, IReadOnlyList<int>? sequences = null) where V : unmanaged, IFloatVector<V>
    {
        if (sequences is not null && !(q.dim() == 4 && AttentionMask.FillOneRow(sequences, q.shape[0], q.shape[1])))
            throw new ArgumentException($"packed sequences of lengths {string.Join(", ", sequences)} do not fill a single row of [{string.Join(", ", q.shape)}]");
        var s = new Dims(q, k, sequences);
        if (is_grad_enabled() && (q.requires_grad || k.requires_grad || v.requires_grad)) return Function<V>.apply(q, k, v, cos, signedSin, s);
        using var scope = NewDisposeScope();
        var (output, _) = Forward<V>(s, q, k, v, cos, signedSin);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>The output and the log-sum-exp of each row's scaled scores, [tokens, heads].</summary>
    static (Tensor Output, Tensor LogSumExp) Forward<V>(Dims s, Tensor q, Tensor k, Tensor v, Tensor cos, Tensor signedSin) where V : unmanaged, IFloatVector<V>
    {
        var output = empty_like(q);
        var logSumExp = empty([s.Tokens, s.Heads], ScalarType.Float32, q.device);
        var tensors = new Pointers(q, k, v, cos, signedSin, output, logSumExp);
        IntraOpParallel.For((long)s.Sequences * s.KvHeads, item => Width<V>.ForwardItem(s, item, tensors));
        return (output, logSumExp);
    }

    static (Tensor Dq, Tensor Dk, Tensor Dv) Backward<V>(Dims s, Tensor q, Tensor k, Tensor v, Tensor cos, Tensor signedSin, Tensor output,
        Tensor logSumExp, Tensor gradOutput) where V : unmanaged, IFloatVector<V>
    {
        Tensor dq = empty_like(q), dk = empty_like(k), dv = empty_like(v);
        var tensors = new Pointers(q, k, v, cos, signedSin, output, logSumExp);
        float* gp = Pointer(gradOutput), dqp = Pointer(dq), dkp = Pointer(dk), dvp = Pointer(dv);
        IntraOpParallel.For((long)s.Sequences * s.KvHeads, item => Width<V>.BackwardItem(s, item, tensors, gp, dqp, dkp, dvp));
        return (dq, dk, dv);
    }

    /// <summary>The data of the forward pass's tensors.</summary>
    readonly struct Pointers(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor signedSin, Tensor output, Tensor logSumExp)
    {
        public readonly float* Q = Pointer(q), K = Pointer(k), V = Pointer(v), Cos = Pointer(cos), SignedSin = Pointer(signedSin);
        public readonly float* Output = Pointer(output), LogSumExp = Pointer(logSumExp);
    }

    /// <summary>
    /// Sizes, and where each sequence lies on the token axis (batch and sequence flattened): the batch's rows, or the
    /// packed sequences of a single row. Rows and tables are addressed by token: q, k, v and the output by
    /// token and head, the rotary tables by token, the log-sum-exps [tokens, heads].
    /// </summary>
    readonly struct Dims
    {
        public readonly int Tokens, Heads, KvHeads, HeadDim;
        public readonly float Scale;
        readonly int[] _starts, _lengths;

        public Dims(Tensor q, Tensor k, IReadOnlyList<int>? sequences)
        {
            (Tokens, Heads, KvHeads, HeadDim) = ((int)(q.shape[0] * q.shape[1]), (int)q.shape[2], (int)k.shape[2], (int)q.shape[3]);
            Scale = 1f / MathF.Sqrt(q.shape[3]);
            int rows = (int)q.shape[0], seq = (int)q.shape[1];
            _lengths = sequences is null ? Enumerable.Repeat(seq, rows).ToArray() : [.. sequences];
            _starts = new int[_lengths.Length];
            for (int i = 1; i < _lengths.Length; i++) _starts[i] = _starts[i - 1] + _lengths[i - 1];
        }

        public int Sequences => _lengths.Length;
        public int Group => Heads / KvHeads;

        /// <summary>Sequence <paramref name="index"/>, its keys padded to whole vectors of <paramref name="lanes"/> floats.</summary>
        public Sequence At(int index, int lanes) => new(_starts[index], _lengths[index], (_lengths[index] + lanes - 1) / lanes * lanes);

        public long QueryRow(int token, int h) => ((long)token * Heads + h) * HeadDim;
        public long KeyRow(int token, int kvHead) => ((long)token * KvHeads + kvHead) * HeadDim;
        public long RowStat(int token, int h) => (long)token * Heads + h;
        public long Position(int token) => (long)token * HeadDim;
        public long QueryStride => (long)Heads * HeadDim;
        public long KeyStride => (long)KvHeads * HeadDim;
    }

    /// <summary>One sequence: its first token on the token axis, its length, and its keys' row length in whole vectors.</summary>
    readonly record struct Sequence(int Start, int Length, int Padded);

    static float* Alloc(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);

    /// <summary>Pointers to four rows <paramref name="stride"/> apart; past <paramref name="rows"/> they repeat the last (their results are discarded).</summary>
    static Rows4 RowPointers(float* first, long stride, int rows) => new(
        first, first + Math.Min(1, rows - 1) * stride, first + Math.Min(2, rows - 1) * stride, first + Math.Min(3, rows - 1) * stride);

    readonly struct Rows4(float* r0, float* r1, float* r2, float* r3)
    {
        public readonly float* R0 = r0, R1 = r1, R2 = r2, R3 = r3;
        public float* this[int r] => r switch { 0 => R0, 1 => R1, 2 => R2, _ => R3 };
    }

    /// <summary>
    /// The kv head's keys and its group's queries, rotated (<see cref="RotaryEmbedding.Apply"/>: out[x] = in[x]·cos[x] +
    /// in[(x + d/2) mod d]·signedSin[x]) into [seq, d] rows and [group, seq, d] rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RotatedRows<V>(in Dims s, in Pointers t, Sequence seq, int kvHead, float* keys, float* queries) where V : unmanaged, IFloatVector<V>
    {
        int d = s.HeadDim;
        for (int i = 0; i < seq.Length; i++)
        {
            int token = seq.Start + i;
            float* cos = t.Cos + s.Position(token), sin = t.SignedSin + s.Position(token);
            Rotate<V>(t.K + s.KeyRow(token, kvHead), keys + (long)i * d, cos, sin, d);
            for (int g = 0; g < s.Group; g++)
                Rotate<V>(t.Q + s.QueryRow(token, kvHead * s.Group + g), queries + ((long)g * seq.Length + i) * d, cos, sin, d);
        }
    }

    /// <summary>[d, padded] ← scale · rows[j, :] for the sequence's rows, <paramref name="stride"/> floats apart; padding zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Transpose(in Dims s, Sequence seq, float* rows, long stride, float* transposed, float scale)
    {
        for (int x = 0; x < s.HeadDim; x++)
        {
            float* column = transposed + (long)x * seq.Padded;
            for (int j = 0; j < seq.Length; j++) column[j] = rows[j * stride + x] * scale;
            for (int j = seq.Length; j < seq.Padded; j++) column[j] = 0;
        }
    }

    /// <summary>
    /// rows[j, :] ← scale · transposed[:, j] for the kv head's rows of a [batch, seq, kv_heads, d] tensor, rotated back
    /// (<see cref="CpuKernels.RotateBack"/>) by the tables from the sequence's first token when given.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TransposeBack<V>(in Dims s, Sequence seq, float* transposed, float* rows, float scale, float* cos, float* signedSin) where V : unmanaged, IFloatVector<V>
    {
        int d = s.HeadDim;
        for (int j = 0; j < seq.Length; j++)
        {
            float* row = rows + j * s.KeyStride;
            for (int x = 0; x < d; x++) row[x] = transposed[(long)x * seq.Padded + j] * scale;
            if (cos is not null) RotateBack<V>(row, cos + (long)j * d, signedSin + (long)j * d, d);
        }
    }

    /// <summary>The passes over vectors, compiled for each width.</summary>
    static class Width<V> where V : unmanaged, IFloatVector<V>
    {
        /// <summary>Attention for all query heads of one kv head of one sequence.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void ForwardItem(Dims s, long item, Pointers t)
        {
            var seq = s.At((int)(item / s.KvHeads), V.Lanes);
            int kvHead = (int)(item % s.KvHeads), d = s.HeadDim, padded = seq.Padded, length = seq.Length;
            float* keys = Alloc((long)length * d), keysT = Alloc((long)d * padded), queries = Alloc((long)s.Group * length * d);
            float* scores = Alloc((long)Rows * padded);
            float* scaleOut = stackalloc float[Rows];
            try
            {
                RotatedRows<V>(s, t, seq, kvHead, keys, queries);
                Transpose(s, seq, keys, d, keysT, s.Scale);
                float* values = t.V + s.KeyRow(seq.Start, kvHead);
                for (int g = 0; g < s.Group; g++)
                {
                    int h = kvHead * s.Group + g;
                    for (int i0 = 0; i0 < length; i0 += Rows)
                    {
                        int rows = Math.Min(Rows, length - i0), visibleKeys = i0 + rows, vectors = (visibleKeys + V.Lanes - 1) / V.Lanes;
                        var qRows = RowPointers(queries + ((long)g * length + i0) * d, d, rows);
                        RowsTimesColumns(qRows, keysT, padded, d, vectors, scores);
                        for (int r = 0; r < rows; r++)
                        {
                            var (max, sum) = Softmax(scores + r * padded, i0 + r + 1, vectors);
                            t.LogSumExp[s.RowStat(seq.Start + i0 + r, h)] = max + MathF.Log(sum);
                            scaleOut[r] = 1f / sum;
                        }
                        var outRows = RowPointers(t.Output + s.QueryRow(seq.Start + i0, h), s.QueryStride, rows);
                        WeightedSumOfRows(scores, padded, values, s.KeyStride, visibleKeys, d, scaleOut, outRows, rows);
                    }
                }
            }
            finally
            {
                NativeMemory.AlignedFree(keys);
                NativeMemory.AlignedFree(keysT);
                NativeMemory.AlignedFree(queries);
                NativeMemory.AlignedFree(scores);
            }
        }

        /// <summary>Gradients for one kv head of one sequence: dq of its query heads, dk and dv of the kv head.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void BackwardItem(Dims s, long item, Pointers t, float* gradOutput, float* dq, float* dk, float* dv)
        {
            var seq = s.At((int)(item / s.KvHeads), V.Lanes);
            int kvHead = (int)(item % s.KvHeads), d = s.HeadDim, padded = seq.Padded, length = seq.Length;
            long block = (long)d * padded;
            float* keys = Alloc((long)length * d), queries = Alloc((long)s.Group * length * d);
            float* keysT = Alloc(block), valuesT = Alloc(block), dKeysT = Alloc(block), dValuesT = Alloc(block);
            float* probs = Alloc((long)Rows * padded), dScores = Alloc((long)Rows * padded);
            float* scaleOut = stackalloc float[Rows];
            try
            {
                RotatedRows<V>(s, t, seq, kvHead, keys, queries);
                Transpose(s, seq, keys, d, keysT, s.Scale);
                Transpose(s, seq, t.V + s.KeyRow(seq.Start, kvHead), s.KeyStride, valuesT, 1f);
                new Span<float>(dKeysT, (int)block).Clear();
                new Span<float>(dValuesT, (int)block).Clear();
                for (int r = 0; r < Rows; r++) scaleOut[r] = s.Scale;
                for (int g = 0; g < s.Group; g++)
                {
                    int h = kvHead * s.Group + g;
                    for (int i0 = 0; i0 < length; i0 += Rows)
                    {
                        int rows = Math.Min(Rows, length - i0), visibleKeys = i0 + rows, vectors = (visibleKeys + V.Lanes - 1) / V.Lanes;
                        var qRows = RowPointers(queries + ((long)g * length + i0) * d, d, rows);
                        var gRows = RowPointers(gradOutput + s.QueryRow(seq.Start + i0, h), s.QueryStride, rows);
                        var oRows = RowPointers(t.Output + s.QueryRow(seq.Start + i0, h), s.QueryStride, rows);
                        RowsTimesColumns(qRows, keysT, padded, d, vectors, probs);     // scaled scores
                        RowsTimesColumns(gRows, valuesT, padded, d, vectors, dScores); // dP = dO·vᵀ
                        for (int r = 0; r < Rows; r++)
                        {
                            float* p = probs + r * padded, ds = dScores + r * padded;
                            if (r >= rows)
                            {
                                new Span<float>(p, vectors * V.Lanes).Clear();
                                new Span<float>(ds, vectors * V.Lanes).Clear();
                                continue;
                            }
                            int visible = i0 + r + 1;
                            float lse = t.LogSumExp[s.RowStat(seq.Start + i0 + r, h)];
                            float delta = Dot(gRows[r], oRows[r], d); // Σ_j P·dP = dO·O
                            ProbabilitiesAndScoreGradients(p, ds, visible, vectors, lse, delta);
                        }
                        AddOuterProducts(dValuesT, padded, d, gRows, probs, padded, vectors); // dv += Pᵀ·dO
                        AddOuterProducts(dKeysT, padded, d, qRows, dScores, padded, vectors); // d(rope k) += dSᵀ·rope(q), scaled below
                        var dqRows = RowPointers(dq + s.QueryRow(seq.Start + i0, h), s.QueryStride, rows);
                        WeightedSumOfRows(dScores, padded, keys, d, visibleKeys, d, scaleOut, dqRows, rows); // d(rope q) = dS·rope(k)·scale
                        for (int r = 0; r < rows; r++)
                            RotateBack<V>(dqRows[r], t.Cos + s.Position(seq.Start + i0 + r), t.SignedSin + s.Position(seq.Start + i0 + r), d);
                    }
                }
                TransposeBack<V>(s, seq, dKeysT, dk + s.KeyRow(seq.Start, kvHead), s.Scale, t.Cos + s.Position(seq.Start), t.SignedSin + s.Position(seq.Start));
                TransposeBack<V>(s, seq, dValuesT, dv + s.KeyRow(seq.Start, kvHead), 1f, null, null);
            }
            finally
            {
                NativeMemory.AlignedFree(keys);
                NativeMemory.AlignedFree(queries);
                NativeMemory.AlignedFree(keysT);
                NativeMemory.AlignedFree(valuesT);
                NativeMemory.AlignedFree(dKeysT);
                NativeMemory.AlignedFree(dValuesT);
                NativeMemory.AlignedFree(probs);
                NativeMemory.AlignedFree(dScores);
            }
        }

        /// <summary>out[r, j] = Σ_x a_r[x] · columns[x, j] for four rows a_r and the first <paramref name="vectors"/> vectors of j.</summary>
        /// <remarks>
        /// Two vectors of j at a time: each broadcast a_r[x] serves two FMAs, and eight independent sums keep both FMA units
        /// busy. A last odd vector splits its sums over even and odd x instead.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static void RowsTimesColumns(Rows4 a, float* columns, int padded, int d, int vectors, float* result)
        {
            int jv = 0;
            for (; jv + 2 <= vectors; jv += 2)
            {
                float* column = columns + jv * V.Lanes;
                V c0 = default, c1 = default, c2 = default, c3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
                for (int x = 0; x < d; x++, column += padded)
                {
                    var m = V.Load(column);
                    var n = V.Load(column + V.Lanes);
                    var a0 = V.Create(a.R0[x]);
                    var a1 = V.Create(a.R1[x]);
                    var a2 = V.Create(a.R2[x]);
                    var a3 = V.Create(a.R3[x]);
                    c0 = V.FusedMultiplyAdd(a0, m, c0);
                    e0 = V.FusedMultiplyAdd(a0, n, e0);
                    c1 = V.FusedMultiplyAdd(a1, m, c1);
                    e1 = V.FusedMultiplyAdd(a1, n, e1);
                    c2 = V.FusedMultiplyAdd(a2, m, c2);
                    e2 = V.FusedMultiplyAdd(a2, n, e2);
                    c3 = V.FusedMultiplyAdd(a3, m, c3);
                    e3 = V.FusedMultiplyAdd(a3, n, e3);
                }
                float* target = result + jv * V.Lanes;
                c0.Store(target); e0.Store(target + V.Lanes);
                c1.Store(target + padded); e1.Store(target + padded + V.Lanes);
                c2.Store(target + 2 * padded); e2.Store(target + 2 * padded + V.Lanes);
                c3.Store(target + 3 * padded); e3.Store(target + 3 * padded + V.Lanes);
            }
            if (jv < vectors)
            {
                float* column = columns + jv * V.Lanes;
                V c0 = default, c1 = default, c2 = default, c3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
                for (int x = 0; x < d; x += 2, column += 2 * padded)
                {
                    var m = V.Load(column);
                    var n = V.Load(column + padded);
                    c0 = V.FusedMultiplyAdd(V.Create(a.R0[x]), m, c0);
                    c1 = V.FusedMultiplyAdd(V.Create(a.R1[x]), m, c1);
                    c2 = V.FusedMultiplyAdd(V.Create(a.R2[x]), m, c2);
                    c3 = V.FusedMultiplyAdd(V.Create(a.R3[x]), m, c3);
                    e0 = V.FusedMultiplyAdd(V.Create(a.R0[x + 1]), n, e0);
                    e1 = V.FusedMultiplyAdd(V.Create(a.R1[x + 1]), n, e1);
                    e2 = V.FusedMultiplyAdd(V.Create(a.R2[x + 1]), n, e2);
                    e3 = V.FusedMultiplyAdd(V.Create(a.R3[x + 1]), n, e3);
                }
                float* target = result + jv * V.Lanes;
                (c0 + e0).Store(target);
                (c1 + e1).Store(target + padded);
                (c2 + e2).Store(target + 2 * padded);
                (c3 + e3).Store(target + 3 * padded);
            }
        }

        /// <summary>out_r[:] = scale_r · Σ_{j &lt; count} w[r, j] · rows[j, :], for the first <paramref name="validRows"/> of four.</summary>
        /// <remarks>Even and odd j go to separate sums, as in <see cref="RowsTimesColumns"/>.</remarks>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static void WeightedSumOfRows(float* w, int wStride, float* rows, long rowStride, int count, int d, float* scale, Rows4 output, int validRows)
        {
            float* w1 = w + wStride, w2 = w + 2 * wStride, w3 = w + 3 * wStride;
            for (int xv = 0; xv < d; xv += V.Lanes)
            {
                V c0 = default, c1 = default, c2 = default, c3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
                float* row = rows + xv;
                int j = 0;
                for (; j + 1 < count; j += 2, row += 2 * rowStride)
                {
                    var m = V.Load(row);
                    var n = V.Load(row + rowStride);
                    c0 = V.FusedMultiplyAdd(V.Create(w[j]), m, c0);
                    c1 = V.FusedMultiplyAdd(V.Create(w1[j]), m, c1);
                    c2 = V.FusedMultiplyAdd(V.Create(w2[j]), m, c2);
                    c3 = V.FusedMultiplyAdd(V.Create(w3[j]), m, c3);
                    e0 = V.FusedMultiplyAdd(V.Create(w[j + 1]), n, e0);
                    e1 = V.FusedMultiplyAdd(V.Create(w1[j + 1]), n, e1);
                    e2 = V.FusedMultiplyAdd(V.Create(w2[j + 1]), n, e2);
                    e3 = V.FusedMultiplyAdd(V.Create(w3[j + 1]), n, e3);
                }
                if (j < count)
                {
                    var m = V.Load(row);
                    c0 = V.FusedMultiplyAdd(V.Create(w[j]), m, c0);
                    c1 = V.FusedMultiplyAdd(V.Create(w1[j]), m, c1);
                    c2 = V.FusedMultiplyAdd(V.Create(w2[j]), m, c2);
                    c3 = V.FusedMultiplyAdd(V.Create(w3[j]), m, c3);
                }
                ((c0 + e0) * V.Create(scale[0])).Store(output.R0 + xv);
                if (validRows > 1) ((c1 + e1) * V.Create(scale[1])).Store(output.R1 + xv);
                if (validRows > 2) ((c2 + e2) * V.Create(scale[2])).Store(output.R2 + xv);
                if (validRows > 3) ((c3 + e3) * V.Create(scale[3])).Store(output.R3 + xv);
            }
        }

        /// <summary>transposed[x, j] += Σ_r a_r[x] · w[r, j] over the first <paramref name="vectors"/> vectors of j.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static void AddOuterProducts(float* transposed, int padded, int d, Rows4 a, float* w, int wStride, int vectors)
        {
            for (int jv = 0; jv < vectors; jv++)
            {
                var w0 = V.Load(w + jv * V.Lanes);
                var w1 = V.Load(w + wStride + jv * V.Lanes);
                var w2 = V.Load(w + 2 * wStride + jv * V.Lanes);
                var w3 = V.Load(w + 3 * wStride + jv * V.Lanes);
                float* target = transposed + jv * V.Lanes;
                for (int x = 0; x < d; x++, target += padded)
                {
                    var low = V.FusedMultiplyAdd(V.Create(a.R1[x]), w1, V.Create(a.R0[x]) * w0);
                    var high = V.FusedMultiplyAdd(V.Create(a.R3[x]), w3, V.Create(a.R2[x]) * w2);
                    (V.Load(target) + (low + high)).Store(target);
                }
            }
        }

        /// <summary>
        /// Replaces a row of scaled scores by exp(score − max) over its <paramref name="visible"/> keys (zero after
        /// them, up to <paramref name="vectors"/> whole vectors); returns the max and the sum of the exponentials.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static (float Max, float Sum) Softmax(float* row, int visible, int vectors)
        {
            int used = MaskPastVisible(row, visible);
            var max = V.Create(float.NegativeInfinity);
            for (int jv = 0; jv < used; jv++) max = V.Max(max, V.Load(row + jv * V.Lanes));
            float m = V.MaxAcross(max);
            var shift = V.Create(m);
            var sum = V.Zero;
            for (int jv = 0; jv < used; jv++)
            {
                var e = Exp(V.Load(row + jv * V.Lanes) - shift);
                e.Store(row + jv * V.Lanes);
                sum += e;
            }
            for (int jv = used; jv < vectors; jv++) V.Zero.Store(row + jv * V.Lanes);
            return (m, V.Sum(sum));
        }

        /// <summary>P = exp(score − lse) over the visible keys (zero after them); dS = P · (dP − delta).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static void ProbabilitiesAndScoreGradients(float* scores, float* dScores, int visible, int vectors, float logSumExp, float delta)
        {
            int used = MaskPastVisible(scores, visible);
            var lse = V.Create(logSumExp);
            var dlt = V.Create(delta);
            for (int jv = 0; jv < used; jv++)
            {
                var p = Exp(V.Load(scores + jv * V.Lanes) - lse);
                p.Store(scores + jv * V.Lanes);
                (p * (V.Load(dScores + jv * V.Lanes) - dlt)).Store(dScores + jv * V.Lanes);
            }
            for (int jv = used; jv < vectors; jv++)
            {
                V.Zero.Store(scores + jv * V.Lanes);
                V.Zero.Store(dScores + jv * V.Lanes);
            }
        }

        /// <summary>Sets the scores past <paramref name="visible"/> in its last partly visible vector to −∞; returns the vectors with visible keys.</summary>
        static int MaskPastVisible(float* row, int visible)
        {
            int full = visible / V.Lanes, rest = visible % V.Lanes;
            if (rest == 0) return full;
            var visibleLanes = V.FirstLanes(rest);
            var last = V.Load(row + full * V.Lanes);
            V.ConditionalSelect(visibleLanes, last, V.Create(float.NegativeInfinity)).Store(row + full * V.Lanes);
            return full + 1;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static float Dot(float* a, float* b, int d)
        {
            var sum = V.Zero;
            for (int x = 0; x < d; x += V.Lanes) sum = V.FusedMultiplyAdd(V.Load(a + x), V.Load(b + x), sum);
            return V.Sum(sum);
        }
    }

    /// <summary>The autograd node: saves the inputs, the output and the row log-sum-exps for the backward pass.</summary>
    sealed class Function<V> : autograd.SingleTensorFunction<Function<V>> where V : unmanaged, IFloatVector<V>
    {
        public override string Name => nameof(CpuCausalAttention);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (q, k, v, cos, signedSin, dims) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], (Tensor)vars[4], (Dims)vars[5]);
            var (output, logSumExp) = Forward<V>(dims, q, k, v, cos, signedSin);
            // Kept as data rather than autograd saved variables, freed at the end of backward (see RMSNorm).
            ctx.save_data(nameof(Saved), new Saved(q.detach().DetachFromDisposeScope(), k.detach().DetachFromDisposeScope(),
                v.detach().DetachFromDisposeScope(), cos.detach().DetachFromDisposeScope(), signedSin.detach().DetachFromDisposeScope(),
                output.detach().DetachFromDisposeScope(), logSumExp.DetachFromDisposeScope(), dims));
            return output;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            var saved = (Saved)ctx.get_data(nameof(Saved));
            using (saved.Q)
            using (saved.K)
            using (saved.V)
            using (saved.Cos)
            using (saved.SignedSin)
            using (saved.Output)
            using (saved.LogSumExp)
            using (var gradOutput = grad.contiguous())
            {
                var (dq, dk, dv) = Backward<V>(saved.Dims, saved.Q, saved.K, saved.V, saved.Cos, saved.SignedSin, saved.Output, saved.LogSumExp, gradOutput);
                return [dq, dk, dv, null!, null!, null!];
            }
        }

        sealed record Saved(Tensor Q, Tensor K, Tensor V, Tensor Cos, Tensor SignedSin, Tensor Output, Tensor LogSumExp, Dims Dims);
    }
}
