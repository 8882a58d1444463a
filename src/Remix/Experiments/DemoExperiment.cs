using Remix.Data.Bundled;

namespace Remix.Experiments;

/// <summary>
/// The default experiment behind <c>remix demo</c>, as spec files under <c>examples/demo/</c> and
/// <c>examples/demo/quick/</c> (so that <c>remix run --config</c> replays any row): on <c>models/remix-tiny</c>, stage 1
/// memorizes country capitals (D_A), stage 2 learns chemical symbols (a factoid D_B) — or, for one condition,
/// GSM8K-format arithmetic (a non-factoid D_B) — under naive fine-tuning, replay, the three REMIX variants and L2
/// regularisation, with joint training on both sets as the upper bound. Each stage stops once its own set is
/// fully learned; the files say why the recipe is what it is.
/// </summary>
public static class DemoExperiment
{
    /// <summary>The conditions in the order of the demo's table: the spec files' names, without <c>.yaml</c>.</summary>
    public static readonly IReadOnlyList<string> ConditionFiles =
        ["naive", "replay", "remix-random-stage1", "remix-generic-stage2", "remix-both", "l2", "joint", "naive-nonfactoid-B"];

    /// <summary>The folder of the demo's spec files, relative to the checkout: <c>examples/demo</c> or <c>examples/demo/quick</c>.</summary>
    public static string Folder(bool quick) => quick ? Path.Combine("examples", "demo", "quick") : Path.Combine("examples", "demo");

    /// <summary>
    /// Reads the conditions of the full demo or of <c>--quick</c>; <paramref name="seeds"/> replaces the files' seeds
    /// with 0 .. seeds − 1.
    /// </summary>
    public static IReadOnlyList<ExperimentSpec> Conditions(bool quick, int? seeds = null)
    {
        if (seeds is < 1) throw new InvalidInputException("--seeds", $"expected a positive number, found {seeds}");
        return [.. ConditionFiles.Select(name => ExperimentSpec.Load(BundledPaths.Find(Path.Combine(Folder(quick), name + ".yaml"))))
            .Select(spec => seeds is { } n ? spec with { Seeds = [.. Enumerable.Range(0, n)] } : spec)];
    }
}
