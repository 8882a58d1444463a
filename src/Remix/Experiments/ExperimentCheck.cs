using System.Globalization;
using Remix.Checkpoints;
using Remix.Data.Mixing;
using Remix.Data;
using Remix.Models;

namespace Remix.Experiments;

/// <summary>
/// What a run of a spec meets before it trains, read as the run reads it: every data file through its loader with its
/// options, each stage's set (not empty, as large as its limit says, its ids distinct), the base model's config, tokenizer
/// and weight headers (not the weights), and every mixing source. <c>remix run</c> checks this before it trains and
/// <c>remix run --validate</c> only this.
/// </summary>
/// <remarks>
/// A path that does not exist here is not read: loading the spec has refused it already, or, for a spec meant for
/// another machine, listed it in <see cref="ExperimentSpec.MissingPaths"/>. A stage's set is judged only when every
/// one of its files could be read.
/// </remarks>
/// <param name="Found">What was read, one line each: the base model, each stage's set with its files' formats, each mixing source.</param>
/// <param name="Problems">Every problem, one line each naming its file (and line, where the reader gives one); empty when there is none.</param>
public sealed record ExperimentCheck(IReadOnlyList<string> Found, IReadOnlyList<string> Problems)
{
    /// <summary>Checks everything <paramref name="spec"/> names; problems are collected, not thrown, so that one pass shows them all.</summary>
    public static ExperimentCheck Of(ExperimentSpec spec)
    {
        var found = new List<string>();
        var problems = new List<string>();
        bool Attempt(Action check)
        {
            try
            {
                check();
                return true;
            }
            catch (InvalidInputException e)
            {
                // A file that several stages name is refused once.
                if (!problems.Contains(e.Message)) problems.Add(e.Message);
                return false;
            }
        }

        if (Exists(spec.BaseModel)) Attempt(() => found.Add($"base model: {Describe(LoadedModel.Check(spec.BaseModel))}"));
        for (int i = 0; i < spec.Stages.Count; i++) CheckStage(spec.Stages[i], i, found, Attempt);
        // Word counts do not change what a source reads, so each file is read once.
        foreach (var mix in spec.Stages.SelectMany(s => s.Mix).Where(m => Exists(m.File)).DistinctBy(m => (m.Source, m.File)))
            Attempt(() => found.Add($"mix {mix.Source}: {Path.GetFileName(mix.File)}, {Describe(mix.CreateSource())}"));
        return new ExperimentCheck(found, problems);
    }

    static void CheckStage(StageSpec stage, int index, List<string> found, Func<Action, bool> attempt)
    {
        var files = new List<DatasetReadResult>();
        bool complete = true;
        foreach (var data in stage.Data)
        {
            if (!Exists(data.File) || (data.Templates is { } templates && !Exists(templates))) complete = false;
            else complete &= attempt(() => files.Add(data.Read()));
        }
        if (!complete) return;
        attempt(() =>
        {
            var set = stage.SetOf(files);
            var names = string.Join(", ", files.Select(f => Path.GetFileName(f.Path)));
            if (set.Count == 0)
                throw Error(stage, index, "data", $"no examples to memorize: {names} {(files.Count == 1 ? "holds" : "hold")} only documents ({string.Join(", ", files.Select(f => f.Format).Distinct())}), which only a generic mix takes");
            if (stage.Limit is { } limit && set.Count < limit)
                throw Error(stage, index, "limit", $"expected at most {set.Count} (the examples {names} {(files.Count == 1 ? "holds" : "hold")}), found {limit}");
            // The run keys every stage's results by example id.
            if (set.GroupBy(e => e.Id).FirstOrDefault(g => g.Count() > 1) is { } twice)
                throw Error(stage, index, "data", $"example id \"{twice.Key}\" appears {twice.Count()} times in the set (ids must differ within a stage)");
            int all = files.Sum(f => f.Examples.Count(e => e.Kind != ExampleKind.Document));
            found.Add($"{stage.Name}: {Count(set.Count, "example")}{(set.Count < all ? $" (the first of {all})" : "")} from {string.Join(", ", files.Select(Describe))}");
        });
    }

    /// <summary>The error at the stage's key in the spec file, or, for a stage built in code, at the stage.</summary>
    static InvalidInputException Error(StageSpec stage, int index, string key, string message) =>
        stage.Source?.Error(key, message) ?? new InvalidInputException($"stage {stage.Name}", $"stages[{index}].{key}: {message}");

    static bool Exists(string? path) => path is not null && (File.Exists(path) || Directory.Exists(path));

    static string Describe(DatasetReadResult file) =>
        $"{Path.GetFileName(file.Path)} ({file.Format}, {Count(file.Examples.Count, "example")}"
        + (file.Skipped > 0 ? $"; skipped {string.Join(", ", file.SkipReasons.Select(r => $"{r.Value} {r.Key}"))}" : "") + ")";

    static string Describe(ModelSummary model) =>
        $"{model.Config.ModelType}, {model.Config.NumHiddenLayers} layers, hidden {model.Config.HiddenSize}, vocab {model.Config.VocabSize}, "
        + $"{model.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters in {string.Join(", ", model.WeightFiles)}; config, tokenizer and weight headers read";

    static string Describe(IMixingSource source) => source switch
    {
        RandomWordSource words => Count(words.WordCount, "word"),
        GenericPassageSource passages => $"{Count(passages.UsableDocuments, "document")} of at least {passages.PromptWords + passages.TargetWords} words"
            + (passages.SkippedShort > 0 ? $" (and {passages.SkippedShort} shorter, left out)" : ""),
        _ => source.Name,
    };

    static string Count(int n, string noun) => $"{n.ToString("N0", CultureInfo.InvariantCulture)} {noun}{(n == 1 ? "" : "s")}";
}
