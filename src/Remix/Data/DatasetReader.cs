using Remix.Data.Formats;

namespace Remix.Data;

/// <summary>
/// Reads any supported dataset file (or MATH directory) into examples: detects the format unless one
/// is named, stops at the first malformed row with its file, line and field — or, with
/// <see cref="DatasetReadOptions.SkipBad"/>, skips and counts such rows — and refuses an empty result.
/// </summary>
public static class DatasetReader
{
    /// <summary>Every format, in the order detection tries them.</summary>
    public static readonly IReadOnlyList<IDatasetFormat> Formats =
    [
        new RemixJsonlFormat(), new PopQaFormat(), new TriviaQaFormat(), new WebQuestionsFormat(),
        new EntityQuestionsFormat(), new LamaTrexFormat(), new Gsm8kFormat(), new MathFormat(), new AppsFormat(),
        new EvolInstructCodeFormat(), new UltraChatFormat(), new ParquetCorpusFormat(), new TextCorpusFormat(),
        new JsonlCorpusFormat(),
    ];

    public static IEnumerable<string> FormatNames => Formats.Select(f => f.Name);

    /// <summary>The format named by <paramref name="name"/>, or an error listing the names.</summary>
    public static IDatasetFormat Named(string name) =>
        Formats.FirstOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new InvalidInputException("--format", $"expected one of {string.Join(", ", FormatNames)}, found \"{name}\"");

    /// <summary>The format a file looks like, or an error asking for <c>--format</c>.</summary>
    public static IDatasetFormat Detect(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new InvalidInputException(path, "file not found");
        var probe = FileProbe.Of(path);
        return Formats.FirstOrDefault(f => f.Matches(probe))
            ?? throw new InvalidInputException(path, $"could not tell the dataset format{(probe.Keys.Count > 0 ? $" from its fields ({string.Join(", ", probe.Keys.Order())})" : "")}; pass --format (in a spec, data: {{file, format}}) with one of {string.Join(", ", FormatNames)}");
    }

    /// <summary>Reads every example of a file.</summary>
    public static DatasetReadResult Read(string path, DatasetReadOptions? options = null)
    {
        options ??= new DatasetReadOptions();
        var format = options.Format is { } name ? Named(name) : Detect(path);
        var examples = new List<Example>();
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var errors = new List<string>();
        foreach (var row in format.Rows(path, options))
        {
            RowOutcome outcome;
            try { outcome = row.Parse(); }
            catch (InvalidInputException e) when (options.SkipBad)
            {
                skipped["malformed"] = skipped.GetValueOrDefault("malformed") + 1;
                if (errors.Count < 10) errors.Add(e.Message);
                continue;
            }
            if (outcome.Example is { } example) examples.Add(example);
            else skipped[outcome.SkipReason ?? "skipped"] = skipped.GetValueOrDefault(outcome.SkipReason ?? "skipped") + 1;
        }
        if (examples.Count == 0)
            throw new InvalidInputException(path, $"no examples found (format {format.Name}{(skipped.Count > 0 ? $"; skipped: {string.Join(", ", skipped.Select(s => $"{s.Value} {s.Key}"))}" : "")})");
        return new DatasetReadResult(path, format.Name, examples, skipped, errors);
    }
}
