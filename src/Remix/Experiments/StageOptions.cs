using System.Globalization;
using Remix.Data.Bundled;
using Remix.Models;

namespace Remix.Experiments;

/// <summary>
/// The one-line forms of a stage's records, as <c>remix train</c>'s options write them (<c>--mix random:2.0</c>,
/// <c>--lora 8:16</c>, ...). Each parses into the record a spec's YAML gives for the same idea, with the same defaults
/// and paths resolved as a spec resolves them (to full paths, bundled files found from any folder), so a one-stage
/// spec and the command line describe one experiment. A bad string is refused in one line naming the option.
/// </summary>
/// <remarks>
/// <c>remix train</c> has no earlier stages, only their data files: <c>--replay FILE:FRACTION</c> and
/// <c>--ewc STRENGTH:FILE</c> give the record a spec gives (a replay of the earlier stage named like the file, an ewc
/// regularizer) and the file that stands for that earlier stage's set.
/// </remarks>
public static class StageOptions
{
    /// <summary>
    /// <c>--mix random:RATIO</c>, <c>generic:RATIO</c> (the bundled corpus) or <c>generic:FILE:RATIO</c>. A random
    /// source takes its words from <paramref name="wordList"/> (<c>--words</c>; by default the bundled list) and its
    /// lengths from <paramref name="randomWords"/> (<c>--random-words</c>).
    /// </summary>
    public static MixSpec Mix(string text, string? wordList = null, string randomWords = "10+10")
    {
        double Ratio(string s) => Number(s) is { } r ? r : throw new InvalidInputException("--mix", $"expected a non-negative ratio in \"{text}\"");
        switch (text.Split(':'))
        {
            case ["random", var ratio]:
                var (prompt, target) = RandomWords(randomWords);
                return new MixSpec("random", Ratio(ratio), Input(wordList is null ? "--mix" : "--words", wordList ?? BundledPaths.WordList), prompt, target);
            case ["generic", var ratio]:
                return new MixSpec("generic", Ratio(ratio), Input("--mix", BundledPaths.GenericCorpus));
            case ["generic", .. var fileParts, var ratio] when fileParts.Length > 0:
                // A path may hold colons itself (C:\...): only the first and last fields are syntax.
                return new MixSpec("generic", Ratio(ratio), Input("--mix", string.Join(':', fileParts)));
            default:
                throw new InvalidInputException("--mix", $"expected random:RATIO, generic:RATIO or generic:FILE:RATIO, found \"{text}\"");
        }
    }

    /// <summary><c>--random-words PROMPT+TARGET</c>: the words of a random sequence's prompt and of its target.</summary>
    public static (int PromptWords, int TargetWords) RandomWords(string text) =>
        text.Split('+') is [var p, var t] && Count(p) is { } prompt && Count(t) is { } target and >= 1
            ? (prompt, target)
            : throw new InvalidInputException("--random-words", $"expected PROMPT+TARGET word counts such as 10+10, found \"{text}\"");

    /// <summary>
    /// <c>--replay FILE:FRACTION</c>: a replay of the earlier stage whose set is FILE, named like the file without its
    /// extension, and FILE's full path.
    /// </summary>
    public static (ReplaySpec Replay, string File) Replay(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || Number(text[(colon + 1)..]) is not { } fraction)
            throw new InvalidInputException("--replay", $"expected FILE:FRACTION such as d_a.jsonl:0.1, found \"{text}\"");
        var file = Input("--replay", text[..colon]);
        return (new ReplaySpec(Path.GetFileNameWithoutExtension(file), fraction), file);
    }

    /// <summary>
    /// <c>--l2 STRENGTH</c> or <c>--kl STRENGTH</c> (<paramref name="type"/> <c>l2</c> or <c>kl</c>): the regularizer, or
    /// null for strength 0 (the option's "off").
    /// </summary>
    public static RegularizerSpec? Penalty(string type, double strength)
    {
        if (type is not ("l2" or "kl")) throw new ArgumentException($"expected l2 or kl, found \"{type}\"", nameof(type));
        if (!(strength >= 0) || !double.IsFinite(strength))
            throw new InvalidInputException($"--{type}", $"expected a non-negative strength, found {strength.ToString(CultureInfo.InvariantCulture)}");
        return strength > 0 ? new RegularizerSpec(type, strength) : null;
    }

    /// <summary>
    /// <c>--ewc STRENGTH:FILE</c>: the ewc regularizer and the full path of FILE, the previous stage's set, on which the
    /// diagonal Fisher is estimated.
    /// </summary>
    public static (RegularizerSpec Regularizer, string File) Ewc(string text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0 || colon == text.Length - 1 || Number(text[..colon]) is not { } strength)
            throw new InvalidInputException("--ewc", $"expected STRENGTH:FILE such as 100:d_a.jsonl, found \"{text}\"");
        return (new RegularizerSpec("ewc", strength), Input("--ewc", text[(colon + 1)..]));
    }

    /// <summary>
    /// <c>--lora RANK[:ALPHA]</c> with <c>--lora-targets</c> <paramref name="targets"/> (comma-separated); alpha is
    /// <see cref="Models.Lora.DefaultAlpha"/> unless given, the targets <see cref="Models.Lora.DefaultTargets"/>.
    /// </summary>
    public static LoraSpec Lora(string text, string? targets = null)
    {
        var parts = text.Split(':');
        if (parts.Length > 2 || Count(parts[0]) is not { } rank || rank < 1
            || (parts.Length == 2 && (Number(parts[1]) is not { } given || given <= 0)))
            throw new InvalidInputException("--lora", $"expected RANK[:ALPHA] such as 8:16, found \"{text}\"");
        double alpha = parts.Length == 2 ? Number(parts[1])!.Value : Models.Lora.DefaultAlpha(rank);
        IReadOnlyList<string> names = targets is null ? [.. Models.Lora.DefaultTargets]
            : targets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Count == 0) throw new InvalidInputException("--lora-targets", $"expected projection names such as q_proj,v_proj, found \"{targets}\"");
        return new LoraSpec(rank, alpha, names);
    }

    /// <summary>A finite non-negative number, or null.</summary>
    static double? Number(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 && double.IsFinite(v) ? v : null;

    /// <summary>A non-negative integer written in digits, or null.</summary>
    static int? Count(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>An input file or folder named by <paramref name="option"/>, as a spec resolves one: its full path.</summary>
    static string Input(string option, string path)
    {
        var resolved = BundledPaths.Resolve(path);
        return File.Exists(resolved) || Directory.Exists(resolved)
            ? Path.GetFullPath(resolved)
            : throw new InvalidInputException(option, $"{path}: file not found");
    }
}
