using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Remix.Experiments;
using Remix.Training;

namespace Remix.Cli;

/// <summary><c>remix demo</c>: the embedded default experiment, fully offline, with one row per condition.</summary>
public static class DemoCommand
{
    public static Command Build()
    {
        var output = new Option<string>("--out") { Description = "Where the runs go", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var quick = new Option<bool>("--quick") { Description = "A smaller version (fewer facts and epochs), about a minute" };
        var command = new Command("demo", "Run the default experiment on models/remix-tiny: how much of D_A each method forgets") { output, quick };
        command.SetAction(parse =>
        {
            var size = parse.GetValue(quick) ? DemoExperiment.Size.Quick : DemoExperiment.Size.Full;
            var root = Path.Combine(parse.GetValue(output)!, parse.GetValue(quick) ? "quick" : "full");
            var o = parse.InvocationConfiguration.Output;
            var clock = Stopwatch.StartNew();
            var rows = new List<string>();
            using var ctrlC = new CtrlC();
            foreach (var spec in DemoExperiment.Conditions(size))
            {
                var dir = Path.Combine(root, spec.Name);
                var results = new ExperimentRunner(spec) { Progress = ProgressReporter.ForConsole(1000), SharedStages = Path.Combine(root, "shared-stages") }.Run(dir, 0, ctrlC.Token);
                using var doc = JsonDocument.Parse(results.ToJsonString());
                var m = doc.RootElement.GetProperty("accuracy_matrix");
                double a1 = m[0][0].GetDouble(), a2 = m[1][0].GetDouble(), b2 = m[1][1].GetDouble();
                bool factoidB = !spec.Name.Contains("nonfactoid");
                var b = factoidB ? $"{b2:P0}" : $"ROUGE-L {doc.RootElement.GetProperty("rouge_l_matrix")[1][1].GetDouble():F2}";
                rows.Add($"| {spec.Name} | {a1:P0} | {a2:P0} | {a1 - a2:+0.00;-0.00;0.00} | {b} |");
            }
            o.WriteLine($"D_A: country capitals ({size.Facts}); D_B: chemical symbols ({size.Facts}), or GSM8K-format arithmetic ({size.NonFactoid}) for the last row; model models/remix-tiny");
            o.WriteLine();
            o.WriteLine("| condition | D_A after stage 1 | D_A after stage 2 | forgetting | D_B after stage 2 |");
            o.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var row in rows) o.WriteLine(row);
            o.WriteLine();
            var report = Remix.Reporting.ExperimentReport.Build([root], root);
            o.WriteLine($"runs and results.json (per-fact predictions behind every number): {root}");
            o.WriteLine($"plots: {report.CurvesPlot}, {report.TokenCurvesPlot}, {report.RetentionPlot}");
            o.WriteLine($"time: {clock.Elapsed:mm\\:ss}");
            return 0;
        });
        return command;
    }
}
