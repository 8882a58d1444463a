using System.CommandLine;
using Remix.Data.Bundled;
using Remix.Experiments;

namespace Remix.Cli;

/// <summary><c>remix grid plan</c>: a grid of experiments expanded into one resolved entry per configuration and seed.</summary>
public static class GridCommands
{
    public static Command Build()
    {
        var command = new Command("grid", "Plan grids of experiments (a base spec, axes that vary its fields, zip groups)");
        command.Subcommands.Add(Plan());
        return command;
    }

    static Command Plan()
    {
        var spec = new Argument<string>("SPEC") { Description = "Grid spec (YAML, or JSON): an experiment spec's keys plus axes and zip" };
        var output = new Option<string>("--out") { Description = "The plan folder: grid.yaml, plan.json and runs.jsonl go there", Required = true };
        var extend = new Option<bool>("--extend") { Description = "Plan into a folder planned from another grid spec, appending only the entries it lacks (its lines and ids stay as they are)" };
        var allowMissing = new Option<bool>("--allow-missing") { Description = "Plan a grid meant for another machine: paths missing here are listed instead of refused (as remix run --validate)" };
        var command = new Command("plan", "Resolve every entry of a grid (each configuration of its axes, each seed), validate each as remix run would, and write runs.jsonl") { spec, output, extend, allowMissing };
        command.SetAction(parse =>
        {
            var path = BundledPaths.Resolve(parse.GetValue(spec)!);
            var grid = GridSpec.Load(path, requireFiles: !parse.GetValue(allowMissing));
            var dir = parse.GetValue(output)!;
            var plan = GridPlan.Write(grid, dir, parse.GetValue(extend));
            var o = parse.InvocationConfiguration.Output;
            // One factor per axis that varies alone and per zip group, its axes joined by '+'.
            var factors = grid.Axes.Where(a => a.Zip is null || grid.Axes.First(b => b.Zip == a.Zip) == a).Select(a => a.Zip is { } z
                ? $"{string.Join(" + ", grid.Axes.Where(b => b.Zip == z).Select(b => b.Path))} ({a.Values.Count})"
                : $"{a.Path} ({a.Values.Count})");
            int configurations = grid.Entries.Select(e => string.Join('\0', e.Values.Select(v => v.Value.Name))).Distinct().Count();
            o.WriteLine($"{path}: {plan.Entries} entries ({configurations} configurations, each seed an entry) over {grid.Axes.Count} ax{(grid.Axes.Count == 1 ? "is" : "es")}: {string.Join(" x ", factors)}");
            foreach (var missing in grid.MissingPaths) o.WriteLine($"  not on this machine: {missing}");
            o.WriteLine(plan.Added == 0
                ? $"{dir} holds every entry already: nothing to plan"
                : $"{plan.Added} new, {plan.AlreadyPlanned} planned before: {plan.RunsPath}");
            return 0;
        });
        return command;
    }
}
