namespace Remix.Reporting;

/// <summary>One cell of a <see cref="SummaryTable"/>: its text as the CLI prints it and the number behind it (null for a name or a missing score).</summary>
public readonly record struct SummaryCell(string Text, double? Value = null);
