namespace Remix.Reporting;

/// <summary>One number of one run: a matrix cell of its results.json, with what identifies it (a row of <see cref="ResultsTable"/>).</summary>
/// <param name="Run">The results' name.</param>
/// <param name="Entry">The grid entry's id, or the run folder relative to the folder the report was asked for.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Axes">The entry's value name on each of the table's axis columns (null where its entry has no such axis); empty outside a grid.</param>
/// <param name="AxisValues">The entry's value on each axis column as a number, where the table has that axis's typed column (null elsewhere, or where its entry has no such axis); empty outside a grid.</param>
/// <param name="AfterStage">The stage after which the set was evaluated, from 1.</param>
/// <param name="AfterStageName">That stage's name.</param>
/// <param name="Set">The evaluated set (the name of the stage it belongs to).</param>
/// <param name="Metric">The matrix it comes from, without <c>_matrix</c>: accuracy, token_accuracy, gold_logprob, rouge_l, score.</param>
/// <param name="Value">The cell.</param>
public sealed record ResultsRow(string Run, string Entry, int Seed, IReadOnlyList<string?> Axes, IReadOnlyList<double?> AxisValues, int AfterStage, string AfterStageName, string Set, string Metric, double Value);
