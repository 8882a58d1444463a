namespace Remix.Data.Batching;

/// <summary>Token ids of one example and its labels: -100 where no loss is taken (prompt), the token id where it is (answer, EOS).</summary>
public sealed record EncodedExample(string Id, int[] InputIds, int[] Labels)
{
    public const int IgnoreIndex = -100;
    public int Length => InputIds.Length;
    /// <summary>Tokens that carry loss.</summary>
    public int LabelCount => Labels.Count(l => l != IgnoreIndex);
}
