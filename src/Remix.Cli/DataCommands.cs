using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Remix.Data;
using Remix.Data.Batching;
using Remix.Data.Bundled;
using Remix.Data.Formats;
using Remix.Evaluation;
using Remix.IO;
using Remix.Models;

namespace Remix.Cli;

/// <summary><c>remix data inspect | kvr | filter-known | build</c>.</summary>
public static class DataCommands
{
    public static Command Build()
    {
        var command = new Command("data", "Read, generate and filter datasets");
        command.Subcommands.Add(Inspect());
        command.Subcommands.Add(Kvr());
        command.Subcommands.Add(FilterKnown());
        command.Subcommands.Add(BundledDataCommand.Build());
        return command;
    }


    static Command Inspect()
    {
        var file = new Argument<string>("FILE") { Description = "Dataset file (or MATH directory)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var model = new Option<string?>("--model") { Description = "Checkpoint whose tokenizer gives token-length statistics (default: none, no statistics)" };
        var read = new DatasetOptions();
        var command = new Command("inspect", "Detect a dataset's format, count its examples and skipped rows, show a sample") { file, json, model };
        read.AddTo(command);
        command.SetAction(parse =>
        {
            var result = DatasetReader.Read(BundledPaths.Resolve(parse.GetValue(file)!), read.Resolve(parse));
            var lengths = parse.GetValue(model) is { } dir ? TokenLengths(BundledPaths.Resolve(dir), result.Examples) : null;
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json)) o.WriteLine(InspectJson(result, lengths).ToJsonString(Remix.IO.JsonOptions.Relaxed));
            else PrintInspect(o, result, lengths);
            return 0;
        });
        return command;
    }

    static JsonObject InspectJson(DatasetReadResult r, JsonObject? lengths)
    {
        var o = new JsonObject
        {
            ["path"] = r.Path,
            ["format"] = r.Format,
            ["examples"] = r.Examples.Count,
            ["skipped"] = r.Skipped,
            ["skip_reasons"] = new JsonObject(r.SkipReasons.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["kinds"] = new JsonObject(r.Examples.GroupBy(e => ExampleKinds.Name(e.Kind)).Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Count()))),
            ["sample"] = JsonNode.Parse(ExampleJsonl.ToJson(r.Examples[0])),
        };
        if (r.BadRowErrors.Count > 0) o["first_errors"] = new JsonArray([.. r.BadRowErrors.Select(e => (JsonNode?)e)]);
        if (lengths is not null) o["token_lengths"] = lengths;
        return o;
    }

    static void PrintInspect(TextWriter o, DatasetReadResult r, JsonObject? lengths)
    {
        o.WriteLine($"file:     {r.Path}");
        o.WriteLine($"format:   {r.Format}");
        o.WriteLine($"examples: {r.Examples.Count} ({string.Join(", ", r.Examples.GroupBy(e => e.Kind).Select(g => $"{g.Count()} {ExampleKinds.Name(g.Key)}"))})");
        o.WriteLine($"skipped:  {r.Skipped}{(r.Skipped > 0 ? $" ({string.Join(", ", r.SkipReasons.Select(kv => $"{kv.Value} {kv.Key}"))})" : "")}");
        foreach (var error in r.BadRowErrors.Take(3)) o.WriteLine($"  e.g. {error}");
        foreach (var e in r.Examples.Take(3))
        {
            o.WriteLine($"--- {e.Id}");
            if (e.Kind == ExampleKind.Document) o.WriteLine(Clip(e.Text ?? ""));
            foreach (var t in e.Turns) o.WriteLine($"[{t.Role.ToString().ToLowerInvariant()}] {Clip(t.Content)}");
            if (e.Answers.Count > 1) o.WriteLine($"[answers] {string.Join(" | ", e.Answers.Take(6))}");
        }
        if (lengths is not null) o.WriteLine($"tokens:   {lengths.ToJsonString()}");
    }

    static string Clip(string s)
    {
        var flat = s.Replace("\n", "\\n");
        return flat.Length > 300 ? flat[..297] + "..." : flat;
    }

    /// <summary>Token-length statistics of encoded examples (chat template, BOS, EOS) under a checkpoint's tokenizer.</summary>
    static JsonObject TokenLengths(string modelDir, IReadOnlyList<Example> examples)
    {
        using var tokenizer = Remix.Tokenization.HfTokenizer.Load(modelDir);
        var encoder = new ExampleEncoder(tokenizer);
        var chat = examples.Where(e => e.Turns.Count > 0).ToList();
        var total = chat.Select(e => encoder.Encode(e)).Select(e => (double)e.Length).Order().ToArray();
        var docs = examples.Where(e => e.Kind == ExampleKind.Document).Select(e => (double)tokenizer.Encode(e.Text!, addSpecialTokens: false).Length).Order().ToArray();
        var o = new JsonObject();
        if (total.Length > 0)
        {
            o["example"] = Stats(total);
            o["answer"] = Stats([.. chat.Select(e => (double)tokenizer.Encode(e.Target, addSpecialTokens: false).Length + 1).Order()]);
            o["over_2048"] = total.Count(l => l > 2048);
        }
        if (docs.Length > 0) o["document"] = Stats(docs);
        return o;
    }

    static JsonObject Stats(double[] sorted) => new()
    {
        ["min"] = sorted[0],
        ["mean"] = Math.Round(sorted.Average(), 1),
        ["median"] = sorted[sorted.Length / 2],
        ["p95"] = sorted[Math.Min(sorted.Length - 1, (int)(0.95 * sorted.Length))],
        ["max"] = sorted[^1],
    };

    static Command Kvr()
    {
        var n = new Option<int>("--n") { Description = "Number of key-value facts", Required = true };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed for the keys and values" };
        var output = new Option<string>("--out") { Description = "JSONL file to write", Required = true };
        var nB = new Option<int>("--n-b") { DefaultValueFactory = _ => 0, Description = "Also write a second set of N facts, disjoint from the first, to --out-b (for stage 2; 0: none)" };
        var outB = new Option<string?>("--out-b") { Description = "JSONL file for the --n-b facts (default: none; give it with --n-b)" };
        var force = new ForceOption("--out or --out-b file");
        var command = new Command("kvr", "Write synthetic key-value recall facts (8-character keys and values) as JSONL") { n, seed, output, nB, outB };
        force.AddTo(command);
        command.SetAction(parse =>
        {
            int count = parse.GetValue(n), countB = parse.GetValue(nB);
            if (count < 1) throw new InvalidInputException("--n", $"expected a positive number, found {count}");
            if (countB < 0 || (countB > 0) != (parse.GetValue(outB) is not null))
                throw new InvalidInputException("--n-b", "expected --n-b N and --out-b FILE together");
            var fileA = parse.GetValue(output)!;
            var fileB = parse.GetValue(outB);
            if (fileB is not null && Path.GetFullPath(fileB) == Path.GetFullPath(fileA))
                throw new InvalidInputException("--out-b", $"expected a file other than --out's, found {fileB} for both");
            force.Check(parse, fileA);
            if (fileB is not null) force.Check(parse, fileB);
            var (a, b) = KvrGenerator.GeneratePair(count, countB, parse.GetValue(seed));
            ExampleJsonl.Write(fileA, a);
            parse.InvocationConfiguration.Output.WriteLine($"wrote {a.Count} facts to {fileA}");
            if (fileB is not null)
            {
                ExampleJsonl.Write(fileB, b);
                parse.InvocationConfiguration.Output.WriteLine($"wrote {b.Count} disjoint facts to {fileB}");
            }
            return 0;
        });
        return command;
    }

    static Command FilterKnown()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint to ask", Required = true };
        var data = new Option<string>("--data") { Description = "Factoid dataset", Required = true };
        var output = new Option<string>("--out") { Description = "Directory for known.jsonl, unknown.jsonl and predictions.jsonl", Required = true };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32, Description = "Questions answered together" };
        var maxNew = new Option<int?>("--max-new-tokens") { Description = "Tokens to generate per question (default: longest gold answer + 8)" };
        var read = new DatasetOptions();
        var force = new ForceOption("--out folder");
        var common = new CommonOptions();
        var command = new Command("filter-known", "Split facts into those the model already answers (known) and the rest (unknown)") { model, data, output, batch, maxNew };
        read.AddTo(command);
        force.AddTo(command);
        common.AddTo(command);
        command.SetAction(parse =>
        {
            var outDir = parse.GetValue(output)!;
            var file = BundledPaths.Resolve(parse.GetValue(data)!);
            force.Check(parse, outDir, file, BundledPaths.Resolve(parse.GetValue(model)!));
            var facts = DatasetReader.Read(file, read.Resolve(parse)).Examples.Where(e => e.Kind == ExampleKind.Factoid).ToList();
            if (facts.Count == 0) throw new InvalidInputException(file, "no factoid examples to filter");
            using var loaded = common.Load(parse, BundledPaths.Resolve(parse.GetValue(model)!));
            var split = KnownFactFilter.Split(loaded, facts, batchSize: parse.GetValue(batch), maxNewTokens: parse.GetValue(maxNew));
            AtomicDirectory.Write(outDir, tmp =>
            {
                ExampleJsonl.Write(Path.Combine(tmp, "known.jsonl"), split.Known);
                ExampleJsonl.Write(Path.Combine(tmp, "unknown.jsonl"), split.Unknown);
                Evaluator.WritePredictions(Path.Combine(tmp, "predictions.jsonl"), split.Predictions);
            });
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"facts:   {facts.Count}");
            o.WriteLine($"known:   {split.Known.Count} ({100.0 * split.Known.Count / facts.Count:F1}%) -> {Path.Combine(outDir, "known.jsonl")}");
            o.WriteLine($"unknown: {split.Unknown.Count} -> {Path.Combine(outDir, "unknown.jsonl")}");
            return 0;
        });
        return command;
    }
}
