using Remix.Data;
using Remix.Data.Formats;

namespace Remix.Experiments;

/// <summary>
/// One data file of a stage and how to read it: <c>data: FILE</c>, or <c>data: {file, format, skip_bad, templates}</c>
/// for a file whose format cannot be detected, whose malformed rows are to be skipped, or whose LAMA templates lie elsewhere.
/// </summary>
/// <param name="File">The file (or MATH directory), resolved.</param>
/// <param name="Format">A format name of <see cref="DatasetReader.FormatNames"/>; null: detected from the file.</param>
/// <param name="SkipBad">Skip and count malformed rows instead of refusing the file at the first.</param>
/// <param name="Templates">LAMA relation templates (<c>relations.jsonl</c>), resolved; null: looked for next to the data.</param>
public sealed record DataSpec(string File, string? Format = null, bool SkipBad = false, string? Templates = null)
{
    /// <summary>The reader's options for this file.</summary>
    public DatasetReadOptions ReadOptions => new() { Format = Format, SkipBad = SkipBad, TemplatesPath = Templates };

    /// <summary>Every example of the file, read as a run reads it.</summary>
    public DatasetReadResult Read() => DatasetReader.Read(File, ReadOptions);
}
