namespace Remix.Data.Formats;

/// <summary>
/// A released dataset format: how to recognise a file of it and how to read its rows. Each row is
/// handed back as a parser so the reader can stop at, or skip and count, a malformed one.
/// </summary>
public interface IDatasetFormat
{
    /// <summary>The name used by <c>--format</c> and printed by <c>data inspect</c>.</summary>
    string Name { get; }

    /// <summary>One line on what the format is and how its examples are built.</summary>
    string Description { get; }

    /// <summary>True if the probed file looks like this format.</summary>
    bool Matches(FileProbe probe);

    /// <summary>The rows of the file; each parser returns an example, or null for a row that is intentionally skipped.</summary>
    IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options);
}

/// <summary>A row of a dataset file: where it is, and how to turn it into an example.</summary>
public sealed record DatasetRow(int Line, Func<RowOutcome> Parse);

/// <summary>What a row became: an example, or a reason it was deliberately left out.</summary>
public sealed record RowOutcome(Example? Example, string? SkipReason = null)
{
    public static RowOutcome Of(Example example) => new(example);
    public static RowOutcome Skip(string reason) => new(null, reason);
}
