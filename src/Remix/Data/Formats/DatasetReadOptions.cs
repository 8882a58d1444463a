namespace Remix.Data.Formats;

/// <summary>How to read a dataset file.</summary>
public sealed record DatasetReadOptions
{
    /// <summary>A format name to use instead of detecting one.</summary>
    public string? Format { get; init; }

    /// <summary>Skip and count malformed rows instead of stopping at the first.</summary>
    public bool SkipBad { get; init; }

    /// <summary>LAMA relation templates (<c>relations.jsonl</c>); by default looked for next to the data.</summary>
    public string? TemplatesPath { get; init; }
}
