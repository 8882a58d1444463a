using Remix.Models;

namespace Remix.Data.Batching;

/// <summary>Token ids of one example and its labels: -100 where no loss is taken (prompt), the token id where it is (answer, EOS).</summary>
public sealed record EncodedExample(string Id, int[] InputIds, int[] Labels)
{
    public const int IgnoreIndex = CausalLmLoss.IgnoreIndex;
    public int Length => InputIds.Length;
    /// <summary>Tokens that carry loss.</summary>
    public int LabelCount => Labels.Count(l => l != IgnoreIndex);
}
