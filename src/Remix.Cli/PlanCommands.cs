using System.CommandLine;
using Remix.Checkpoints;
using Remix.Data.Bundled;
using Remix.Models;
using Remix.Training;

namespace Remix.Cli;

/// <summary><c>remix plan memory</c>: what full fine-tuning of a model takes in memory under a precision, from its config alone.</summary>
public static class PlanCommands
{
    public static Command Build()
    {
        var plan = new Command("plan", "Estimate what a training needs before starting it");
        plan.Subcommands.Add(Memory());
        return plan;
    }

    static Command Memory()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder; only its config.json is read (no weights)", Required = true };
        var precision = new Option<string>("--precision") { Description = $"{Precisions.Names}", Required = true };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32, Description = "Examples per batch (as remix train's)" };
        var maxLength = new Option<int>("--max-length") { DefaultValueFactory = _ => 2048, Description = "Tokens per example, every example taken as full length" };
        var command = new Command("memory", "Print the memory full fine-tuning takes on one device: weights, gradients and optimizer state (params x bytes), activations (an estimate) and the total, in GiB")
        {
            model, precision, batch, maxLength,
        };
        command.SetAction(parse =>
        {
            var mode = Precisions.Parse(parse.GetValue(precision)!);
            var config = HfCheckpoint.LoadConfig(BundledPaths.Resolve(parse.GetValue(model)!));
            var estimate = MemoryPlan.Estimate(config, mode, parse.GetValue(batch), parse.GetValue(maxLength));
            foreach (var line in estimate.Describe()) parse.InvocationConfiguration.Output.WriteLine(line);
            return 0;
        });
        return command;
    }
}
