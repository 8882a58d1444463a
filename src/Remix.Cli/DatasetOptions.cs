using System.CommandLine;
using Remix.Data;
using Remix.Data.Bundled;
using Remix.Data.Formats;

namespace Remix.Cli;

/// <summary>How commands that read a dataset read it: --format, --skip-bad, --templates.</summary>
sealed class DatasetOptions
{
    public Option<string?> Format { get; } = new("--format") { Description = "Dataset format: " + string.Join(", ", DatasetReader.FormatNames) + " (default: detected from the file)" };
    public Option<bool> SkipBad { get; } = new("--skip-bad") { Description = "Skip and count malformed rows instead of stopping" };
    public Option<string?> Templates { get; } = new("--templates") { Description = "LAMA relation templates, relations.jsonl (default: relations.jsonl in the data's folder or the two above it, else built-in ones)" };

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
