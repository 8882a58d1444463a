using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Remix.Checkpoints;
using Remix.Data.Bundled;
using Remix.IO;
using Remix.Runtime;

namespace Remix.Training;

/// <summary>
/// The model card of a model made by <c>remix pretrain</c>, written from its run folder: the architecture and
/// parameters (total and outside the embeddings), the corpus and tokenizer with their SHA-256, the steps and tokens
/// seen, the training loss at the start, middle and end, the time each session took and on what machine, and the
/// command that made it. Everything in it is read from the run folder and the model; nothing is typed by hand.
/// </summary>
public static class ModelCard
{
    /// <summary>The card's file name in a model folder.</summary>
    public const string FileName = "MODEL_CARD.md";

    /// <summary>Steps averaged for the loss at the start, middle and end of training.</summary>
    const int LossWindow = 50;

    /// <summary>Writes <see cref="Build"/>'s card to <paramref name="path"/> (a temporary name, then renamed).</summary>
    public static void Write(string runDirectory, string modelDirectory, string path) =>
        AtomicFile.WriteAllText(path, Build(runDirectory, modelDirectory));

    /// <summary>
    /// The card of <paramref name="modelDirectory"/> (the run's <c>final/</c>, or a copy or conversion of it), made by the
    /// pretraining in <paramref name="runDirectory"/>. Refuses a run that has not finished.
    /// </summary>
    public static string Build(string runDirectory, string modelDirectory)
    {
        var statePath = Path.Combine(runDirectory, "final", TrainerState.FileName);
        if (!File.Exists(statePath)) throw new InvalidInputException(runDirectory, "holds no finished training (no final/trainer_state.json); resume it first");
        var state = TrainerState.Load(statePath);
        var sessions = RunProvenance.ReadSessions(runDirectory);
        if (sessions.Count == 0) throw new InvalidInputException(runDirectory, $"has no {RunProvenance.FileName}: nothing says what made it");
        var metricsPath = Path.Combine(runDirectory, "metrics.jsonl");
        if (!File.Exists(metricsPath)) throw new InvalidInputException(runDirectory, "has no metrics.jsonl: its losses are unknown");
        var metrics = MetricsLog.Read(metricsPath);
        var losses = metrics.Where(m => (string?)m["kind"] == "train").Select(m => (Step: (int)m["step"]!, Loss: (double)m["loss"]!)).OrderBy(m => m.Step).ToList();
        if (losses.Count == 0) throw new InvalidInputException(metricsPath, "holds no training step");
        var run = metrics.FirstOrDefault(m => (string?)m["kind"] == "run");

        var first = sessions[0];
        var commandLine = Words(first, "command_line");
        var workingDirectory = (string?)first["working_directory"];
        var summary = ModelSummary.Read(modelDirectory);
        var c = summary.Config;
        var blocks = run?["examples"] is JsonValue b ? (int?)b.GetValue<int>() : null;
        var seqLen = Argument(commandLine, "--seq-len");
        var epochs = Argument(commandLine, "--epochs");

        var t = new StringBuilder();
        var n = CultureInfo.InvariantCulture;
        t.Append("# ").Append(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDirectory)))).Append("\n\n");
        t.Append("A Llama-family causal LM pretrained from scratch with `remix pretrain`. This card was written by `remix model card` ")
            .Append("from the run folder and the model; every figure in it is read from them.\n\n");
        t.Append("| | |\n|---|---|\n");
        t.Append(n, $"| architecture | `{c.Architecture}`: dim {c.HiddenSize}, {c.NumHiddenLayers} layers, {c.NumAttentionHeads} attention heads / {c.NumKeyValueHeads} key-value heads (head dim {c.HeadDim}), SwiGLU MLP {c.IntermediateSize}, RMSNorm eps {c.RmsNormEps.ToString("R", n)}, RoPE theta {c.RopeTheta.ToString("R", n)}, {(c.TieWordEmbeddings ? "tied" : "untied")} embeddings, vocabulary {c.VocabSize:N0} |\n");
        t.Append(n, $"| parameters | {summary.ParameterCount:N0} ({c.NonEmbeddingParameterCount:N0} outside the embeddings); stored as {string.Join(", ", summary.StoredDTypes.Keys)}{(summary.StoredDTypes.ContainsKey("F32") ? "" : " (loaded as float32 on CPU)")}, {FileBytes(modelDirectory, summary):N0} bytes |\n");
        if (Argument(commandLine, "--tokenizer") is { } tokenizer)
            t.Append("| tokenizer | `").Append(tokenizer).Append("`, tokenizer.json SHA-256 `").Append(Hash(Path.Combine(modelDirectory, "tokenizer.json"))).Append("` |\n");
        if (Argument(commandLine, "--corpus") is { } corpus)
        {
            var path = BundledPaths.Resolve(corpus, workingDirectory is not null && Directory.Exists(workingDirectory) ? workingDirectory : null);
            t.Append("| corpus | `").Append(corpus).Append('`');
            t.Append(File.Exists(path) ? $", SHA-256 `{Hash(path)}` (of the file at that path when this card was written)" : " (not found when this card was written: no hash)");
            if (blocks is { } count && seqLen is not null) t.Append(n, $"; {count:N0} packed blocks of {seqLen} tokens a pass");
            t.Append(" |\n");
        }
        t.Append(n, $"| training | {state.Step:N0} optimizer steps{(epochs is null ? "" : $", {epochs} epoch(s)")}, **{state.TokensSeen:N0} tokens seen**; stopped: {state.StopReason ?? "unknown"}; options as in the command below |\n");
        var windows = new[] { 0, Math.Max(0, losses.Count / 2 - LossWindow / 2), Math.Max(0, losses.Count - LossWindow) }.Distinct()
            .Select(start => losses.Skip(start).Take(LossWindow).ToList())
            .Select(w => string.Create(n, $"steps {w[0].Step}-{w[^1].Step}: {w.Average(l => l.Loss):F2}")).ToList();
        windows[^1] = $"**{windows[^1]}**";
        t.Append(n, $"| loss | mean training loss over {string.Join("; ", windows)} (final step {losses[^1].Loss:F2}) |\n");
        double wall = sessions.Sum(s => (double?)s["wall_seconds"] ?? 0);
        t.Append(n, $"| time | **{Duration(wall)}** in {sessions.Count} session(s), {state.TokensSeen / Math.Max(wall, 1e-9):N0} tokens/s over the whole run; {string.Join("; ", sessions.Select(Session))} |\n");
        t.Append("| files | `model.safetensors` SHA-256 `").Append(Hash(Path.Combine(modelDirectory, "model.safetensors"))).Append("` |\n\n");
        t.Append("## How it was made\n\n```bash\n").Append(ShellWords.Quote(commandLine.Select((w, i) => i == 0 ? "./remix" : w))).Append("\n```\n");
        if (summary.StoredDTypes.Keys.Any(k => k != "F32"))
            t.Append("\nThe run trained in float32; these weights were then converted (`remix model convert`), so they are the run's rounded to ")
                .Append(string.Join(", ", summary.StoredDTypes.Keys)).Append(".\n");
        t.Append("\nThe same command on another machine gives a model of the same quality, not the same bits (the result depends on the CPU's kernels).\n");
        return t.ToString();
    }

    static string Session(JsonObject s)
    {
        var start = (string?)s["start"] ?? "?";
        var threads = s["threads"] is JsonValue v ? v.ToString() : "?";
        return string.Create(CultureInfo.InvariantCulture,
            $"{start[..Math.Min(10, start.Length)]} {(string?)s["outcome"] ?? "unfinished"} after {Duration((double?)s["wall_seconds"] ?? 0)} on {(string?)s["cpu_model"] ?? "?"} ({(string?)s["kernels"] ?? "?"}, {threads} thread(s)), commit {((string?)s["git_commit"] ?? "?")[..Math.Min(7, ((string?)s["git_commit"] ?? "?").Length)]}");
    }

    static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes} min" : $"{t.Minutes} min {t.Seconds} s";
    }

    static List<string> Words(JsonObject session, string field) =>
        session[field] is JsonArray a ? [.. a.Select(w => (string?)w ?? "")] : [];

    /// <summary>The value after <paramref name="option"/> in a recorded command line, or null.</summary>
    static string? Argument(List<string> commandLine, string option)
    {
        int i = commandLine.IndexOf(option);
        return i >= 0 && i + 1 < commandLine.Count ? commandLine[i + 1] : null;
    }

    static long FileBytes(string directory, ModelSummary summary) => summary.WeightFiles.Sum(f => new FileInfo(Path.Combine(directory, f)).Length);

    static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
