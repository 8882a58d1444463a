using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// Next-token cross-entropy where labels are not -100. The LM head and softmax run only at those
/// positions (usually the short answers), in float32 (float64 for float64 models).
/// </summary>
public static class CausalLmLoss
{
    /// <summary>The label of a position the loss skips (a prompt token, padding): PyTorch's <c>ignore_index</c>.</summary>
    public const int IgnoreIndex = -100;

    /// <summary>
    /// The summed loss over labelled tokens (divide by the token count of the whole accumulation group
    /// for a mean) and that count. inputIds, labels: [batch, seq]; right padding, which causal attention
    /// alone keeps out of the real positions, so no attention mask is needed; or, with <paramref name="packed"/>, a single
    /// row of sequences of those lengths one after another (<see cref="LlamaModel.Forward"/>), whose first tokens carry no
    /// label, so that no loss crosses from one sequence into the next.
    /// </summary>
    public static (Tensor Sum, long Tokens) Sum(LlamaForCausalLM model, Tensor inputIds, Tensor labels, IReadOnlyList<int>? packed = null)
    {
        var (sum, tokens, logits) = SumWithLogits(model, inputIds, labels, packed);
        logits?.Dispose();
        return (sum, tokens);
    }

    /// <summary>
    /// As <see cref="Sum"/>, also returning the float32 logits at the labelled positions ([tokens, vocab], in
    /// the order of <see cref="LabelledPositions"/>), for losses that compare distributions (KL to a frozen model).
    /// </summary>
    public static (Tensor Sum, long Tokens, Tensor? Logits) SumWithLogits(LlamaForCausalLM model, Tensor inputIds, Tensor labels, IReadOnlyList<int>? packed = null)
    {
        using var scope = NewDisposeScope();
        var (logits, positions, gold) = AtLabels(model, inputIds, labels, packed);
        long count = positions.shape[0];
        if (count == 0) return (zeros(1, ScalarType.Float32, inputIds.device).sum().MoveToOuterDisposeScope(), 0, null);
        var loss = nn.functional.cross_entropy(logits, gold, reduction: nn.Reduction.Sum);
        return (loss.MoveToOuterDisposeScope(), count, logits.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The model's logits where the next token carries a label — [tokens, vocab], in float32 (float64 for float64
    /// models) — with those flat positions (<see cref="LabelledPositions"/>) and the gold next tokens. The LM head
    /// runs only at those positions, which on factoid data saves most of the vocabulary projection.
    /// inputIds, labels: [batch, seq], right padding (causal attention alone keeps it out of the real positions), or a
    /// single row of <paramref name="packed"/> sequences (see <see cref="Sum"/>).
    /// </summary>
    public static (Tensor Logits, Tensor Positions, Tensor Gold) AtLabels(LlamaForCausalLM model, Tensor inputIds, Tensor labels, IReadOnlyList<int>? packed = null)
    {
        using var scope = NewDisposeScope();
        long seq = inputIds.shape[1];
        var positionIds = packed is null ? LlamaForCausalLM.DefaultPositions(inputIds, 0) : LlamaModel.PackedPositions(packed, inputIds.device);
        var hidden = model.Model.Forward(inputIds, positionIds, null, null, packed: packed); // [batch, seq, hidden]
        var positions = LabelledPositions(labels);
        // Flat position row * (seq - 1) + t is row * seq + t among all hidden states, which are gathered from
        // directly (no copy of the first seq - 1 positions of every row, nor its gradient).
        var rows = positions.div(seq - 1, rounding_mode: RoundingMode.floor);
        var states = hidden.reshape(-1, hidden.shape[2]).index_select(0, positions + rows);
        var logits = model.LmHead(states);                                                                       // [tokens, vocab]
        if (logits.dtype != ScalarType.Float64) logits = logits.to(ScalarType.Float32);
        var gold = labels.narrow(1, 1, seq - 1).reshape(-1).index_select(0, positions);                          // token t+1 is predicted at t
        return (logits.MoveToOuterDisposeScope(), positions.MoveToOuterDisposeScope(), gold.MoveToOuterDisposeScope());
    }

    /// <summary>Flat indices (row * (seq - 1) + t) of the positions whose next token carries a label.</summary>
    public static Tensor LabelledPositions(Tensor labels)
    {
        using var scope = NewDisposeScope();
        var targets = labels.narrow(1, 1, labels.shape[1] - 1).reshape(-1);
        return targets.ne(IgnoreIndex).nonzero().squeeze(1).MoveToOuterDisposeScope();
    }
}
