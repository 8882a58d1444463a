using System.CommandLine;
using Remix.Analysis;
using Remix.Data;
using Remix.Data.Bundled;
using Remix.IO;
using Remix.Models;

namespace Remix.Cli;

/// <summary><c>remix analyze logit-lens</c>: where in the layer stack memorized facts become decodable.</summary>
public static class AnalyzeCommands
{
    public static Command Build()
    {
        var command = new Command("analyze", "Layer-wise analysis of trained models");
        command.Subcommands.Add(LogitLensCommand());
        return command;
    }

    static Command LogitLensCommand()
    {
        var models = new Option<string[]>("--model") { Description = "Checkpoint (repeatable: the models are compared side by side)", Required = true, Arity = ArgumentArity.OneOrMore };
        var names = new Option<string[]>("--name") { Description = "A name per --model, in order (default: what tells the model paths apart)" };
        var data = new Option<string>("--data") { Description = "The facts (any supported dataset format)", Required = true };
        var read = new DatasetOptions();
        var limit = new Option<int?>("--limit") { Description = "Analyse only the first N facts (default: all)" };
        var threshold = new Option<double>("--threshold") { Description = "Probability for the 'earliest layer with p >= T' column", DefaultValueFactory = _ => 0.5 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32, Description = "Facts read together" };
        var output = new Option<string>("--out") { Description = "Folder for the CSVs, summary and plots", Required = true };
        var force = new ForceOption("--out folder");
        var common = new CommonOptions();
        var command = new Command("logit-lens",
            "Apply the final norm and LM head to every layer's residual stream at the last prompt position: rank and probability of each fact's gold first answer token")
            { models, names, data, limit, threshold, batch, output };
        read.AddTo(command);
        force.AddTo(command);
        common.AddTo(command);
        command.SetAction(parse =>
        {
            var outDir = parse.GetValue(output)!;
            var dirs = parse.GetValue(models)!.Select(d => BundledPaths.Resolve(d)).ToArray();
            force.Check(parse, outDir, [.. dirs, BundledPaths.Resolve(parse.GetValue(data)!)]);
            var given = parse.GetValue(names) ?? [];
            if (given.Length > 0 && given.Length != dirs.Length)
                throw new InvalidInputException("--name", $"expected one name per --model ({dirs.Length}), found {given.Length}");
            var labels = given.Length > 0 ? given : ModelNames(dirs);
            if (labels.Distinct(StringComparer.Ordinal).Count() != labels.Count)
                throw new InvalidInputException("--name", "expected distinct names, found " + string.Join(", ", labels));
            double t = parse.GetValue(threshold);
            if (t is <= 0 or > 1) throw new InvalidInputException("--threshold", $"expected a probability in (0, 1], found {t}");
            var file = BundledPaths.Resolve(parse.GetValue(data)!);
            var examples = DatasetReader.Read(file, read.Resolve(parse)).Examples.Where(e => e.Kind != ExampleKind.Document)
                .Take(parse.GetValue(limit) ?? int.MaxValue).ToList();
            var results = new List<LensResult>();
            for (int i = 0; i < dirs.Length; i++)
            {
                using var loaded = common.Load(parse, dirs[i]);
                results.Add(new LogitLens(loaded) { BatchSize = parse.GetValue(batch) }.Analyze(labels[i], examples, t));
            }
            LensReport.Output? report = null;
            AtomicDirectory.Write(outDir, tmp => report = LensReport.Write(results, tmp));
            var o = parse.InvocationConfiguration.Output;
            o.Write(report!.Markdown);
            o.WriteLine();
            o.WriteLine("written: " + string.Join(", ", report.Files.Select(f => Path.Combine(outDir, Path.GetFileName(f)))));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Names that tell model directories apart: the path components left once the components all the
    /// paths share at the start and at the end are dropped (runs/naive/final and runs/remix/final: naive,
    /// remix); one model is named by its folder (or the folder above a final/ folder).
    /// </summary>
    public static IReadOnlyList<string> ModelNames(IReadOnlyList<string> dirs)
    {
        var parts = dirs.Select(d => Path.GetFullPath(d).TrimEnd(Path.DirectorySeparatorChar).Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries)).ToList();
        if (parts.Count == 1)
        {
            var p = parts[0];
            return [p.Length > 1 && p[^1] == "final" ? $"{p[^2]}-final" : p[^1]];
        }
        int prefix = 0, suffix = 0, shortest = parts.Min(p => p.Length);
        while (prefix < shortest && parts.All(p => p[prefix] == parts[0][prefix])) prefix++;
        while (suffix < shortest - prefix && parts.All(p => p[^(suffix + 1)] == parts[0][^(suffix + 1)])) suffix++;
        var names = parts.Select(p => string.Join('/', p[prefix..(p.Length - suffix)])).ToList();
        return [.. names.Select((n, i) => n.Length > 0 && names.Count(m => m == n) == 1 ? n : $"{(n.Length > 0 ? n : parts[i][^1])}-{i + 1}")];
    }
}
