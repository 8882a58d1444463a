using System.Text.Json.Nodes;

namespace Remix.Experiments;

/// <summary>One run of a grid: a configuration of its axes and one seed, with the experiment it resolves to.</summary>
/// <param name="Id">Stable and derived from the content: the value names, the seed and a short hash of <paramref name="Spec"/>.</param>
/// <param name="Values">The value of each axis (by path) in this configuration; the <c>seeds</c> axis is <paramref name="Seed"/>.</param>
/// <param name="Seed">The entry's one seed.</param>
/// <param name="Spec">The resolved experiment as JSON, with <c>seeds: [Seed]</c>; its paths are as the grid file writes them.</param>
/// <param name="Experiment">The resolved experiment as the spec parser read it.</param>
public sealed record GridEntry(string Id, IReadOnlyList<(string Path, GridValue Value)> Values, int Seed, JsonObject Spec, ExperimentSpec Experiment);
