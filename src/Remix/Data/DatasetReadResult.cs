namespace Remix.Data;

/// <summary>What reading a dataset file gave: its format, the examples, and what was skipped and why.</summary>
public sealed record DatasetReadResult(
    string Path,
    string Format,
    IReadOnlyList<Example> Examples,
    IReadOnlyDictionary<string, int> SkipReasons,
    IReadOnlyList<string> BadRowErrors)
{
    /// <summary>Rows read but not turned into examples: malformed (with --skip-bad) or deliberately left out.</summary>
    public int Skipped => SkipReasons.Values.Sum();
}
