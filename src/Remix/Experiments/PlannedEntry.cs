namespace Remix.Experiments;

/// <summary>One entry of a plan folder's <c>runs.jsonl</c>, read back to be run.</summary>
/// <param name="Id">The entry's id, the name of its folder under <c>runs/</c>.</param>
/// <param name="Seed">The entry's one seed.</param>
/// <param name="Experiment">The entry's experiment as the spec parser read it, its paths resolved.</param>
public sealed record PlannedEntry(string Id, int Seed, ExperimentSpec Experiment);
