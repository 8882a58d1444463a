namespace Remix.Data.Batching;

/// <summary>Encoded examples and the ids of those dropped for exceeding the length limit (dropped, never truncated).</summary>
public sealed record EncodingResult(IReadOnlyList<EncodedExample> Examples, IReadOnlyList<string> DroppedTooLong);
