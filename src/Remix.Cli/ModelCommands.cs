using System.CommandLine;
using System.Globalization;
using Remix.Checkpoints;
using Remix.Data.Bundled;
using Remix.IO;
using Remix.Models;
using Remix.Training;

namespace Remix.Cli;

/// <summary><c>remix model info</c> and <c>remix model init</c>.</summary>
public static class ModelCommands
{
    public static Command Build()
    {
        var command = new Command("model", "Inspect or create checkpoints");
        command.Subcommands.Add(Info());
        command.Subcommands.Add(Init());
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

    static string FormatCount(long n) => n switch
    {
        >= 1_000_000_000 => $"{n / 1e9:0.##}B",
        >= 1_000_000 => $"{n / 1e6:0.##}M",
        >= 1_000 => $"{n / 1e3:0.##}K",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };
}
