using System.CommandLine;
using System.Globalization;
using Remix.Checkpoints;
using Remix.Data.Bundled;
using Remix.IO;
using Remix.Models;
using Remix.Runtime;
using Remix.Training;

namespace Remix.Cli;

/// <summary><c>remix model info</c>, <c>init</c>, <c>convert</c> and <c>card</c>.</summary>
public static class ModelCommands
{
    public static Command Build()
    {
        var command = new Command("model", "Inspect or create checkpoints");
        command.Subcommands.Add(Info());
        command.Subcommands.Add(Init());
        command.Subcommands.Add(Convert());
        command.Subcommands.Add(Card());
        return command;
    }

    static Command Info()
    {
        var dir = new Argument<string>("DIR") { Description = "Checkpoint directory" };
        var command = new Command("info", "Print parameter count, layers, heads, dtype and vocabulary size") { dir };
        command.SetAction(parse =>
        {
            var folder = BundledPaths.Resolve(parse.GetValue(dir)!);
            var summary = ModelSummary.Read(folder);
            var c = summary.Config;
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"architecture:       {c.Architecture} ({c.ModelType})");
            o.WriteLine($"parameters:         {summary.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} ({FormatCount(summary.ParameterCount)})");
            o.WriteLine($"layers:             {c.NumHiddenLayers}");
            o.WriteLine($"attention heads:    {c.NumAttentionHeads} (key/value heads: {c.NumKeyValueHeads}, head dim: {c.HeadDim})");
            o.WriteLine($"hidden size:        {c.HiddenSize} (intermediate: {c.IntermediateSize})");
            o.WriteLine($"vocabulary size:    {c.VocabSize}");
            o.WriteLine($"dtype:              {c.TorchDtype} (stored: {string.Join(", ", summary.StoredDTypes.Keys)})");
            o.WriteLine($"rope:               theta {c.RopeTheta.ToString(CultureInfo.InvariantCulture)}{(c.RopeScaling is { } s ? $", {s.Type} scaling x{s.Factor.ToString(CultureInfo.InvariantCulture)}" : "")}");
            o.WriteLine($"tied embeddings:    {(c.TieWordEmbeddings ? "yes" : "no")}");
            o.WriteLine($"weight files:       {string.Join(", ", summary.WeightFiles)}");
            // The build's backend only: asking libtorch what it loaded would make this config-only command load it.
            o.WriteLine($"torch backend:      built for {Runtime.TorchBackend.Built} (remix info says what loads)");
            if (PeftAdapter.Holds(folder) && PeftAdapterConfig.Load(folder) is { } adapter)
                o.WriteLine($"LoRA adapter:       rank {adapter.Rank}, alpha {adapter.Alpha.ToString(CultureInfo.InvariantCulture)}{(adapter.RankStabilized ? " (rsLoRA)" : "")} on {adapter.TargetsText}, merged into the weights when loaded (--no-adapter: the base alone)");
            return 0;
        });
        return command;
    }

    static Command Init()
    {
        var output = new Option<string>("--out") { Description = "Directory to write the checkpoint to", Required = true };
        var hidden = new Option<int>("--hidden-size") { DefaultValueFactory = _ => 64, Description = "Width of the residual stream" };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 2, Description = "Decoder layers" };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 4, Description = "Attention heads" };
        var kvHeads = new Option<int>("--kv-heads") { DefaultValueFactory = _ => 2, Description = "Key/value heads (grouped-query attention when fewer than --heads)" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed for the random weights" };
        var force = new ForceOption("--out folder");
        var command = new Command("init", "Write a randomly initialised Llama checkpoint with a byte-level tokenizer") { output, hidden, layers, heads, kvHeads, seed };
        force.AddTo(command);
        command.SetAction(parse =>
        {
            int h = parse.GetValue(hidden), l = parse.GetValue(layers), nh = parse.GetValue(heads), kv = parse.GetValue(kvHeads);
            if (h < 2 || l < 1 || nh < 1 || kv < 1 || h % nh != 0 || nh % kv != 0 || (h / nh) % 2 != 0)
                throw new InvalidInputException("model init", $"expected --hidden-size divisible by --heads into even head sizes and --heads divisible by --kv-heads, found {h}, {nh}, {kv}");
            var dir = parse.GetValue(output)!;
            force.Check(parse, dir);
            var config = RandomCheckpoint.TinyConfig(h, l, nh, kv);
            AtomicDirectory.Write(dir, tmp => RandomCheckpoint.Write(tmp, config, parse.GetValue(seed)));
            parse.InvocationConfiguration.Output.WriteLine($"wrote {dir} ({config.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters)");
            return 0;
        });
        return command;
    }

    static Command Convert()
    {
        var dir = new Argument<string>("DIR") { Description = "Checkpoint directory" };
        var dtype = new Option<string>("--dtype") { Description = "float32, bfloat16 or float16: the dtype the weights are stored in", Required = true };
        var output = new Option<string>("--out") { Description = "Directory to write the converted checkpoint to (config, weights, tokenizer files)", Required = true };
        var force = new ForceOption("--out folder");
        var command = new Command("convert", "Write a checkpoint's weights in another dtype (bfloat16 halves a float32 checkpoint; Remix loads it as float32 on CPU)") { dir, dtype, output };
        force.AddTo(command);
        command.SetAction(parse =>
        {
            var source = BundledPaths.Resolve(parse.GetValue(dir)!);
            var target = DTypes.Parse(parse.GetValue(dtype)!, "--dtype");
            var outDir = parse.GetValue(output)!;
            force.Check(parse, outDir, source);
            // Loaded as float32: every stored dtype widens to it exactly, so the only rounding is the one asked for.
            using var model = HfCheckpoint.Load(source, kernels: KernelChoice.Reference);
            AtomicDirectory.Write(outDir, tmp => HfCheckpoint.Save(model, tmp, source, target));
            var summary = ModelSummary.Read(outDir);
            parse.InvocationConfiguration.Output.WriteLine(
                $"wrote {outDir} ({summary.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters as {string.Join(", ", summary.StoredDTypes.Keys)})");
            return 0;
        });
        return command;
    }

    static Command Card()
    {
        var run = new Argument<string>("RUN") { Description = "The run folder of a finished remix pretrain (its --out)" };
        var model = new Option<string>("--model") { Description = "The model the card describes (default: RUN/final), e.g. a converted copy of it" };
        var output = new Option<string>("--out") { Description = $"Where the card goes (default: the model's {ModelCard.FileName})" };
        var force = new ForceOption("--out file");
        var command = new Command("card", "Write the model card of a pretrained model from its run folder: architecture, parameters, corpus and tokenizer hashes, tokens seen, losses, time, command") { run, model, output };
        force.AddTo(command);
        command.SetAction(parse =>
        {
            var runDir = parse.GetValue(run)!;
            var modelDir = parse.GetValue(model) ?? Path.Combine(runDir, "final");
            var outFile = parse.GetValue(output) ?? Path.Combine(modelDir, ModelCard.FileName);
            force.Check(parse, outFile);
            ModelCard.Write(runDir, modelDir, outFile);
            parse.InvocationConfiguration.Output.WriteLine($"wrote {outFile}");
            return 0;
        });
        return command;
    }

    static string FormatCount(long n) => n switch
    {
        >= 1_000_000_000 => $"{n / 1e9:0.##}B",
        >= 1_000_000 => $"{n / 1e6:0.##}M",
        >= 1_000 => $"{n / 1e3:0.##}K",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };
}
