using System.CommandLine;
using Remix.Data.Bundled;
using Remix.Experiments;
using Remix.Runtime;
using Remix.Training;

namespace Remix.Cli;

/// <summary><c>remix run --config FILE</c>: a multi-stage experiment from a YAML spec, one run directory per seed.</summary>
public static class RunCommand
{
    public static Command Build(IReadOnlyList<string> commandLine)
    {
        // Not Required: --spec-reference needs no spec. The validator below asks for it otherwise, in the parser's own words.
        var config = new Option<string?>("--config") { Description = "Experiment spec (YAML, or JSON); no default, needed unless --spec-reference" };
        var output = new Option<string?>("--out") { Description = "Where the runs go (default: runs/NAME); one seed-N folder per seed" };
        var validate = new Option<bool>("--validate") { Description = "Only check what the run would meet, and say what was found: the spec, every data file read as the run reads it, each stage's set, the base model's config, tokenizer and weight headers, the mixing sources (a spec for another machine lists the paths missing here)" };
        var reference = new Option<bool>("--spec-reference") { Description = "Print every spec key with its type, default and meaning (the README's reference) and exit" };
        var shared = new Option<string?>("--shared-stages") { Description = "Keep finished stage trainings here and reuse them in runs that begin the same way (other specs, same seed); stages are keyed by the content of the model and data files, so an edited file is trained on afresh (default: none, every run trains its own)" };
        var noRetrain = new Option<bool>("--no-retrain") { Description = "Refuse, in one line, instead of retraining a stage of the run folder that was trained under another spec, model, data or seed (default: say which stage changed and retrain from it)" };
        var keepCheckpoints = new Option<bool>("--keep-checkpoints") { Description = "Keep every stage's checkpoints and optimizer state once it has finished (default: only final/ stays)" };
        // Not CommonOptions.Kernels: that one defaults to auto, and here leaving it out means the spec's own kernels:.
        var kernels = new Option<string?>("--kernels") { Description = "auto or reference, in place of the spec's kernels: (default: the spec's, else auto); written into the run's config snapshot" };
        var threads = new CommonOptions();
        var command = new Command("run", "Run a multi-stage continual-learning experiment and report the accuracy matrix") { config, output, validate, reference, shared, noRetrain, keepCheckpoints, threads.Threads, kernels };
        command.Validators.Add(result =>
        {
            if (result.GetResult(config) is null && result.GetResult(reference) is null) result.AddError("Option '--config' is required.");
        });
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(reference))
            {
                o.Write(SpecReference.Markdown());
                return 0;
            }
            bool validateOnly = parse.GetValue(validate);
            // Read before the spec, so that a bad --kernels is the one line said whatever the spec holds.
            var kernelChoice = parse.GetValue(kernels) is { } k ? Runtime.KernelChoices.Parse(k) : (Runtime.KernelChoice?)null;
            var spec = ExperimentSpec.Load(BundledPaths.Resolve(parse.GetValue(config)!), requireFiles: !validateOnly);
            if (kernelChoice is { } choice) spec = spec.WithKernels(choice);
            // The same checks before a run as for --validate, so that a bad data row or tokenizer stops the run before it
            // has trained (or written) anything.
            var check = ExperimentCheck.Of(spec);
            if (check.Problems.Count > 0)
            {
                foreach (var problem in check.Problems) parse.InvocationConfiguration.Error.WriteLine($"remix: {problem}");
                return 1;
            }
            if (validateOnly)
            {
                o.WriteLine($"{spec.Name}: {spec.Stages.Count} stages ({string.Join(", ", spec.Stages.Select(s => s.Name))}), seeds {string.Join(", ", spec.Seeds)}, base {spec.BaseModel}, device {spec.Device}, dtype {spec.DType}, kernels {Runtime.KernelChoices.Name(spec.Kernels)}{(spec.Joint ? ", joint" : "")}{(spec.LogitLens ? ", logit lens after each stage" : "")}");
                foreach (var stage in spec.Stages)
                    o.WriteLine($"  {stage.Name}: {string.Join(", ", stage.Data.Select(d => Path.GetFileName(d.File)))}{(stage.Limit is { } n ? $" (first {n})" : "")}; mix {(stage.Mix.Count == 0 ? "none" : string.Join(", ", stage.Mix.Select(m => $"{m.Source} x{m.Ratio}")))}; stop {stage.Recipe.Stop}; lr {stage.Recipe.LearningRate}");
                foreach (var line in check.Found) o.WriteLine($"  found {line}");
                foreach (var path in spec.MissingPaths) o.WriteLine($"  not on this machine: {path}");
                o.WriteLine("valid");
                return 0;
            }
            threads.ApplyThreads(parse);
            var root = parse.GetValue(output) ?? Path.Combine("runs", spec.Name);
            var runner = new ExperimentRunner(spec)
            {
                Progress = ProgressReporter.For(parse.InvocationConfiguration.Error), SharedStages = parse.GetValue(shared),
                KeepCheckpoints = parse.GetValue(keepCheckpoints), NoRetrain = parse.GetValue(noRetrain), CommandLine = commandLine,
                // Beside the seeds' folders, so that each seed does not hash a large model again.
                HashCache = parse.GetValue(shared) is null ? Path.Combine(root, RunLayout.HashCacheFileName) : null,
            };
            using var interruption = new Interruption();
            try
            {
                foreach (var seed in spec.Seeds)
                {
                    var dir = RunLayout.SeedDirectory(root, seed);
                    runner.Run(dir, seed, interruption.Token);
                    o.WriteLine(File.ReadAllText(Path.Combine(dir, "results.md")));
                    o.WriteLine($"results: {Path.Combine(dir, "results.json")}");
                }
            }
            catch (OperationCanceledException e) when (interruption.Requested)
            {
                return interruption.Stopped(parse.InvocationConfiguration.Error, $"{e.Message}; run the same command again to resume");
            }
            // The seeds just run, not whatever else the folder holds (seeds of an earlier spec of the same name).
            var report = Remix.Reporting.ExperimentReport.Build([.. spec.Seeds.Select(seed => RunLayout.SeedDirectory(root, seed))], root,
                [spec.Name], Path.Combine(root, Remix.Reporting.HtmlReport.FileName));
            o.WriteLine($"report: {report.TablePath} (mean and spread over the seeds); page: {report.HtmlPath}");
            return 0;
        });
        return command;
    }
}
