using System.CommandLine;
using Remix.Models;
using Remix.Runtime;
using static TorchSharp.torch;

namespace Remix.Cli;

/// <summary>Options shared by commands that load a model.</summary>
public sealed class CommonOptions
{
    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
    public Option<string> DType { get; } = new("--dtype") { Description = "auto (float32 on CPU, the checkpoint's on GPU), float32, bfloat16 or float16", DefaultValueFactory = _ => "auto" };
    public Option<int?> Threads { get; } = new("--threads") { Description = "CPU threads for TorchSharp (default: all cores)" };

    public void AddTo(Command command)
    {
        command.Options.Add(Device);
        command.Options.Add(DType);
        command.Options.Add(Threads);
    }

    /// <summary>Applies --threads and loads a checkpoint on --device in --dtype.</summary>
    public LoadedModel Load(ParseResult parse, string directory)
    {
        ApplyThreads(parse);
        return LoadedModel.Load(directory, parse.GetValue(Device)!, parse.GetValue(DType)!);
    }

    /// <summary>Applies --threads (for commands that take it alone, without a model to load).</summary>
    public void ApplyThreads(ParseResult parse)
    {
        if (parse.GetValue(Threads) is { } threads)
        {
            if (threads < 1) throw new InvalidInputException("--threads", $"expected a positive number, found {threads}");
            set_num_threads(threads);
        }
    }

    /// <summary>Applies --threads and resolves --device and --dtype against a checkpoint's dtype.</summary>
    public (Device Device, ScalarType DType) Resolve(ParseResult parse, string checkpointDtype)
    {
        ApplyThreads(parse);
        return Devices.Resolve(parse.GetValue(Device)!, parse.GetValue(DType)!, checkpointDtype);
    }
}
