using System.CommandLine;
using Remix.Data;
using Remix.Data.Bundled;
using Remix.Data.Formats;

namespace Remix.Cli;

/// <summary>
/// How commands that read a dataset read it: --format, --skip-bad, --templates; <paramref name="input"/> names the option
/// they apply to where a command reads other files too (train's --data beside its --eval sets).
/// </summary>
sealed class DatasetOptions(string? input = null)
{
    public Option<string?> Format { get; } = new("--format") { Description = $"Dataset format{Of(input)}: " + string.Join(", ", DatasetReader.FormatNames) + " (default: detected from the file)" };
    public Option<bool> SkipBad { get; } = new("--skip-bad") { Description = $"Skip and count malformed rows{Of(input)} instead of stopping" };
    public Option<string?> Templates { get; } = new("--templates") { Description = $"LAMA relation templates{Of(input)}, relations.jsonl (default: relations.jsonl in the data's folder or the two above it, else built-in ones)" };

    static string Of(string? input) => input is null ? "" : $" of {input}";

    public void AddTo(Command c)
    {
        c.Options.Add(Format);
        c.Options.Add(SkipBad);
        c.Options.Add(Templates);
    }

    public DatasetReadOptions Resolve(ParseResult p) => new()
    {
        Format = p.GetValue(Format),
        SkipBad = p.GetValue(SkipBad),
        TemplatesPath = p.GetValue(Templates) is { } templates ? BundledPaths.Resolve(templates) : null,
    };
}
