using System.Text.Json;

namespace Remix.Bench;

/// <summary>
/// Where a finished <c>remix demo</c> (or <c>remix run</c>) spent its time, from the <c>metrics.jsonl</c> of every
/// stage under a runs folder: the training steps (each step's logged tokens over its logged tokens/s), the rest of
/// the trainer's time (its evaluations, checkpoints, logging; the trainer's "end" line records its seconds), and the
/// number of evaluations. Time outside the trainers (loading, the stage-end evaluation of every set) is the
/// demo's wall time, measured outside, minus the trainers' total. A stage that a run reused from the shared stages is
/// a copy of that stage's folder, metrics included: it is listed but counted once.
/// </summary>
static class DemoSplit
{
    public static int Run(string[] args)
    {
        if (args.Length is < 1 or > 3 || (args.Length > 1 && args[1] != "--wall-seconds"))
            throw new InvalidInputException(args.ElementAtOrDefault(1) ?? "demo-split", "expected RUNS_DIR [--wall-seconds S]");
        string root = args[0];
        if (!Directory.Exists(root)) throw new InvalidInputException(root, "no such folder");
        double? wall = args.Length == 3 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : null;
        Console.WriteLine("| stage | steps | training steps (s) | trainer's other time: evaluation, saving (s) | evaluations | trainer total (s) |");
        Console.WriteLine("|:---|---:|---:|---:|---:|---:|");
        double train = 0, total = 0;
        int evaluations = 0, stages = 0;
        var counted = new Dictionary<string, string>(); // metrics content hash -> the stage counted for it
        foreach (var path in Directory.EnumerateFiles(root, "metrics.jsonl", SearchOption.AllDirectories).Order())
        {
            string stage = Path.GetRelativePath(root, Path.GetDirectoryName(path)!);
            string hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));
            if (!counted.TryAdd(hash, stage))
            {
                Console.WriteLine($"| {stage} | | | | | (a copy of {counted[hash]}: not counted again) |");
                continue;
            }
            var lines = File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            var end = lines.LastOrDefault(e => e.GetProperty("kind").GetString() == "end");
            if (end.ValueKind != JsonValueKind.Object) continue; // unfinished
            var steps = lines.Where(e => e.GetProperty("kind").GetString() == "train").ToList();
            double stepSeconds = steps.Sum(e => e.GetProperty("tokens").GetDouble() / Math.Max(0.1, e.GetProperty("tokens_per_s").GetDouble()));
            double seconds = end.GetProperty("seconds").GetDouble();
            int evals = lines.Count(e => e.GetProperty("kind").GetString()!.StartsWith("eval/", StringComparison.Ordinal));
            Console.WriteLine($"| {stage} | {steps.Count} | {stepSeconds:F1} | {seconds - stepSeconds:F1} | {evals} | {seconds:F1} |");
            train += stepSeconds; total += seconds; evaluations += evals; stages++;
        }
        Console.WriteLine($"| **all {stages} stages** | | {train:F1} | {total - train:F1} | {evaluations} | {total:F1} |");
        if (wall is { } w)
            Console.WriteLine($"whole run {w:F0} s: training steps {100 * train / w:F0}%, the trainers' evaluations and saving {100 * (total - train) / w:F0}%, " +
                $"outside the trainers (start-up, loading, stage-end evaluations, reports) {100 * (w - total) / w:F0}%");
        return 0;
    }
}
