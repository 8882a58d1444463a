using System.CommandLine;
using Remix.Checkpoints;
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
    public Option<string> Kernels { get; } = new Option<string>("--kernels")
    {
        Description = "auto (Remix's CPU kernels, at the widest vector width the CPU has) or reference (TorchSharp's operations everywhere, to compare or rule the kernels out)",
        DefaultValueFactory = _ => "auto",
    };
    public Option<bool> NoAdapter { get; } = new("--no-adapter") { Description = "Load the base weights alone, without merging the folder's LoRA adapter (adapter_model.safetensors)" };

    /// <summary>Adds the options; <paramref name="loadsModel"/> false leaves out --no-adapter, for commands that load no checkpoint.</summary>
    public void AddTo(Command command, bool loadsModel = true)
    {
        command.Options.Add(Device);
        command.Options.Add(DType);
        command.Options.Add(Threads);
        command.Options.Add(Kernels);
        if (loadsModel) command.Options.Add(NoAdapter);
    }

    /// <summary>
    /// Applies --threads and loads a checkpoint on --device in --dtype with --kernels, merging its LoRA adapter unless --no-adapter;
    /// a merged adapter is named in one line on stderr (stdout stays the command's), with <paramref name="consequence"/>
    /// (such as "training starts from the merged model") when given. <paramref name="dtype"/>, when given, replaces --dtype's
    /// value (one derived from it, as <c>remix train</c>'s --precision does).
    /// </summary>
    public LoadedModel Load(ParseResult parse, string directory, string? consequence = null, string? dtype = null)
    {
        ApplyThreads(parse);
        var loaded = LoadedModel.Load(directory, parse.GetValue(Device)!, dtype ?? parse.GetValue(DType)!, applyAdapter: !parse.GetValue(NoAdapter), KernelsOf(parse));
        if (loaded.Adapter is { } adapter)
            parse.InvocationConfiguration.Error.WriteLine($"remix: applied {adapter}{(consequence is null ? "" : "; " + consequence)}; --no-adapter loads the base alone");
        return loaded;
    }

    /// <summary>--kernels, refused in one line when it is neither auto nor reference.</summary>
    public KernelChoice KernelsOf(ParseResult parse) => KernelChoices.Parse(parse.GetValue(Kernels));

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
