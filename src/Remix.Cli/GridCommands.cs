using System.CommandLine;
using System.Text.Json.Nodes;
using Remix.Data.Bundled;
using Remix.Experiments;
using Remix.IO;
using Remix.Training;

namespace Remix.Cli;

/// <summary>
/// <c>remix grid plan</c>: a grid of experiments expanded into one resolved entry per configuration and seed;
/// <c>remix grid run</c>: one entry run into the plan folder, as one task of a job array.
/// </summary>
public static class GridCommands
{
    /// <summary>The environment variables a job array gives each task its index in: Slurm's, then a Kubernetes Indexed Job's.</summary>
    static readonly string[] IndexVariables = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"];

    public static Command Build(IReadOnlyList<string> commandLine)
    {
        var command = new Command("grid", "Plan grids of experiments (a base spec, axes that vary its fields, zip groups) and run their entries");
        command.Subcommands.Add(Plan());
        command.Subcommands.Add(Run(commandLine));
        command.Subcommands.Add(Local());
        command.Subcommands.Add(Status());
        command.Subcommands.Add(Retry());
        command.Subcommands.Add(Export());
        command.Subcommands.Add(GridClusterCommands.Slurm());
        command.Subcommands.Add(GridClusterCommands.K8s());
        return command;
    }

    static Command Run(IReadOnlyList<string> commandLine)
    {
        var dir = new Argument<string>("DIR") { Description = "The plan folder (written by remix grid plan)" };
        var index = new Option<int?>("--index") { Description = $"The entry: its line of runs.jsonl, from 0 (default: ${string.Join(", else $", IndexVariables)}, as a job array sets it)" };
        var threads = new CommonOptions();
        // Set by remix grid local, whose workers leave a terminal's Ctrl+C to it: it stops each with one SIGTERM.
        var worker = new Option<bool>("--worker") { Hidden = true, Description = "Run as a worker of remix grid local: ignore SIGINT, which the pool turns into one SIGTERM (default: SIGINT stops the entry)" };
        var command = new Command("run", "Run one entry of a grid into DIR/runs/ID (a finished entry is left as it is, an interrupted one resumes); entries that begin alike share stage trainings in DIR/shared-stages") { dir, index, threads.Threads, worker };
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            var root = parse.GetValue(dir)!;
            int i = parse.GetValue(index) ?? IndexFromEnvironment();
            var id = GridPlan.Line(root, i).Id;
            var runs = Path.Combine(root, GridPlan.RunsDirectoryName);
            var runDir = Path.Combine(runs, id);
            threads.ApplyThreads(parse);
            Directory.CreateDirectory(runs);
            // From the start: a signal before training starts stops the entry as cleanly as one during it.
            using var interruption = new Interruption(asWorker: parse.GetValue(worker));
            // Beside the run folder, so that a refused worker writes nothing into it.
            // A worker of grid local runs as no task of its own: its siblings share the environment of the one that started them.
            var task = parse.GetValue(worker) ? null : SchedulerTask.FromEnvironment();
            using var held = ProcessLock.Acquire(runDir + GridStatus.LockSuffix, task?.Id);
            if (held.TookOverTask is { } earlier)
                err.WriteLine($"remix: {runDir}{GridStatus.LockSuffix} was left by an earlier try of {SchedulerTask.Describe(earlier)} ({held.TookOverFrom}): taking it over");
            else if (held.TookOverFrom is { } dead)
                err.WriteLine($"remix: {runDir}{GridStatus.LockSuffix} was left by {dead}, no longer running: taking it over");
            var results = Path.Combine(runDir, ExperimentResults.FileName);
            bool finished = File.Exists(Path.Combine(runDir, RunLayout.DoneMarker)) && File.Exists(results);
            PlannedEntry entry;
            try
            {
                // Read under the lock: an entry whose spec no longer reads here (a file gone since planning) is failed, not refused.
                entry = GridPlan.ReadEntry(root, i);
            }
            catch (InvalidInputException e) when (finished)
            {
                // Finished where its files were (another node's mount, say): its results stand, and nothing is run or recorded.
                o.WriteLine($"entry {i} ({id}): already finished: {results} (its spec does not read here: {e.Message})");
                return 0;
            }
            catch (InvalidInputException e)
            {
                GridStatus.RecordFailure(runDir, e.Message);
                throw;
            }
            var check = ExperimentCheck.Of(entry.Experiment);
            if (check.Problems.Count > 0 && finished)
            {
                o.WriteLine($"entry {i} ({id}): already finished: {results} (its files do not check here: {check.Problems[0]})");
                return 0;
            }
            if (check.Problems.Count > 0)
            {
                foreach (var problem in check.Problems) err.WriteLine($"remix: entry {i} ({entry.Id}): {problem}");
                GridStatus.RecordFailure(runDir, check.Problems[0]);
                return 1;
            }
            // The runner returns a finished run as it is, leaving its results untouched; it writes them again otherwise.
            DateTime? before = finished ? File.GetLastWriteTimeUtc(results) : null;
            var runner = new ExperimentRunner(entry.Experiment)
            {
                Progress = ProgressReporter.For(err), SharedStages = Path.Combine(root, GridPlan.SharedStagesDirectoryName), CommandLine = commandLine,
            };
            try
            {
                runner.Run(runDir, entry.Seed, interruption.Token);
            }
            catch (OperationCanceledException e) when (interruption.Requested)
            {
                return interruption.Stopped(err, $"{e.Message}; run the same command again to resume entry {i} ({entry.Id})");
            }
            catch (Exception e)
            {
                // Kept beside the run folder, so that remix grid status and local list it and leave the entry alone until retried.
                GridStatus.RecordFailure(runDir, e.Message);
                throw;
            }
            GridStatus.ClearFailure(runDir);
            o.WriteLine(before is { } t && File.GetLastWriteTimeUtc(results) == t
                ? $"entry {i} ({entry.Id}): already finished: {results}"
                : $"entry {i} ({entry.Id}): results: {results}");
            return 0;
        });
        return command;
    }

    static Command Local()
    {
        var dir = new Argument<string>("DIR") { Description = "The plan folder (written by remix grid plan)" };
        var jobs = new Option<int>("--jobs", "-j") { Description = "Worker processes, each running one entry at a time", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "CPU threads per worker (default: the cores divided among the workers)" };
        var command = new Command("local", "Run every pending entry of a grid on this machine with N worker processes, with live progress; failed entries are left alone (remix grid retry puts them back)") { dir, jobs, threads };
        command.SetAction(parse =>
        {
            var root = parse.GetValue(dir)!;
            int n = parse.GetValue(jobs);
            if (n < 1) throw new InvalidInputException("--jobs", $"expected 1 or more workers, found {n}");
            int perWorker = parse.GetValue(threads) ?? Math.Max(1, Environment.ProcessorCount / n);
            if (perWorker < 1) throw new InvalidInputException("--threads", $"expected 1 or more threads, found {perWorker}");
            var err = parse.InvocationConfiguration.Error;
            using var interruption = new Interruption();
            return new GridPool(root, n, perWorker, parse.InvocationConfiguration.Output, err)
                .Run(interruption.Token, () => interruption.Stopped(err, "(grid local); each worker's line above says where its entry stopped: run the same command again to resume"));
        });
        return command;
    }

    static Command Status()
    {
        var dir = new Argument<string>("DIR") { Description = "The plan folder (written by remix grid plan)" };
        var json = new Option<bool>("--json") { Description = "One JSON object: the counts and every entry (index, id, seed, axes, state, detail)" };
        var command = new Command("status", "Where every entry of a grid stands: done, running (and its worker), failed (and its error) or pending") { dir, json };
        command.SetAction(parse =>
        {
            var root = parse.GetValue(dir)!;
            var entries = GridStatus.Read(root);
            var o = parse.InvocationConfiguration.Output;
            var counts = new[] { EntryState.Done, EntryState.Running, EntryState.Failed, EntryState.Pending }.ToDictionary(s => s, s => entries.Count(e => e.State == s));
            if (parse.GetValue(json))
            {
                var node = new JsonObject { ["plan"] = root, ["entries"] = entries.Count };
                foreach (var (state, count) in counts) node[GridStatus.Describe(state)] = count;
                node["list"] = new JsonArray([.. entries.Select(e => (JsonNode)new JsonObject
                {
                    ["index"] = e.Index, ["id"] = e.Id, ["seed"] = e.Seed,
                    ["axes"] = new JsonObject(e.Axes.Select(a => KeyValuePair.Create(a.Path, (JsonNode?)a.Name))),
                    ["state"] = GridStatus.Describe(e.State), ["detail"] = e.Detail,
                    ["log"] = File.Exists(GridStatus.LogPath(root, e.Index)) ? GridStatus.LogPath(root, e.Index) : null,
                })]);
                o.WriteLine(node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            int width = entries.Select(e => e.Id.Length).DefaultIfEmpty(0).Max();
            foreach (var e in entries)
                o.WriteLine($"{e.Index,4}  {e.Id.PadRight(width)}  {GridStatus.Describe(e.State),-7}{(e.Detail is { } d ? "  " + d : "")}");
            o.WriteLine($"{root}: {entries.Count} entries: {string.Join(", ", counts.Select(kv => $"{kv.Value} {GridStatus.Describe(kv.Key)}"))}");
            return 0;
        });
        return command;
    }

    static Command Retry()
    {
        var dir = new Argument<string>("DIR") { Description = "The plan folder (written by remix grid plan)" };
        var ids = new Argument<string[]>("ID") { Description = "The failed entries to put back (default: every failed one)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("retry", "Put failed entries back to pending (each resumes from where it stopped when run again)") { dir, ids };
        command.SetAction(parse =>
        {
            var root = parse.GetValue(dir)!;
            var back = GridStatus.Retry(root, parse.GetValue(ids) ?? []);
            var o = parse.InvocationConfiguration.Output;
            if (back.Count == 0) o.WriteLine($"{root}: no failed entries");
            foreach (var e in back) o.WriteLine($"entry {e.Index} ({e.Id}): pending again (it failed: {e.Detail})");
            return 0;
        });
        return command;
    }

    static Command Export()
    {
        var dir = new Argument<string>("DIR") { Description = "The plan folder (written by remix grid plan)" };
        var output = new Option<string>("--out") { Description = "The archive to write (.tar.gz): unpacked beside where DIR was (tar xzf FILE -C grids), it is DIR again without weights", Required = true };
        var force = new ForceOption("--out file");
        var command = new Command("export", "Write a grid's results without its weights: the plan and every finished entry's folder and log, less models, TensorBoard events and images, as one .tar.gz that remix report reads once unpacked and remix grid local resumes from") { dir, output };
        force.AddTo(command);
        command.SetAction(parse =>
        {
            var root = parse.GetValue(dir)!;
            var path = parse.GetValue(output)!;
            force.Check(parse, path, root);
            var record = GridRecord.Write(root, path);
            static string Megabytes(long bytes) => (bytes / 1e6).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"{path}: {record.Finished} of {record.Entries} entries (the finished ones), {record.Files} files, {Megabytes(record.Bytes)} MB before compression, "
                + $"{Megabytes(new FileInfo(path).Length)} MB written; left out: {Megabytes(record.LeftOutBytes)} MB of weights, event files and images");
            if (record.Finished < record.Entries)
                o.WriteLine($"the {record.Entries - record.Finished} others are not in it: remix grid local runs them where it is unpacked (training their stages again)");
            return 0;
        });
        return command;
    }

    /// <summary>The entry a job array's task runs, from the first of <see cref="IndexVariables"/> that is set.</summary>
    static int IndexFromEnvironment()
    {
        foreach (var name in IndexVariables)
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
                return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i) ? i
                    : throw new InvalidInputException(name, $"expected an entry index (0, 1, ...), found \"{value}\"");
        throw new InvalidInputException("--index", $"missing: pass --index I, or run as a job array task (${string.Join(" or $", IndexVariables)} set)");
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
            // As remix run checks a spec before it trains (data through its loaders, the model's config and headers), once
            // per configuration: its seeds read the same files. Nothing is planned while any configuration would fail.
            var problems = new List<string>();
            foreach (var configuration in grid.Entries.GroupBy(e => GridPlan.ConfigurationKey(e.Spec)))
                foreach (var problem in ExperimentCheck.Of(configuration.First().Experiment).Problems)
                    if (!problems.Contains(problem)) problems.Add(problem);
            if (problems.Count > 0)
            {
                var err = parse.InvocationConfiguration.Error;
                foreach (var problem in problems) err.WriteLine($"remix: {problem}");
                err.WriteLine($"remix: {path}: {problems.Count} problem{(problems.Count == 1 ? "" : "s")} in the grid's entries: nothing planned");
                return 1;
            }
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
