using System.Text;

namespace Remix.Reporting;

/// <summary>
/// A report's summary table, cell by cell, so that report.md (Markdown) and report.html (a sortable table whose cells carry
/// the numbers behind them) show the same text.
/// </summary>
/// <param name="Header">The column names.</param>
/// <param name="NameColumns">How many leading columns name the row (left-aligned); the rest are numbers.</param>
/// <param name="Rows">Each row's cells, one per column.</param>
public sealed record SummaryTable(IReadOnlyList<string> Header, int NameColumns, IReadOnlyList<IReadOnlyList<SummaryCell>> Rows)
{
    /// <summary>The table as Markdown, a <c>|</c> in a cell escaped.</summary>
    public string Markdown()
    {
        static string Escape(string cell) => cell.Replace("|", "\\|");
        var md = new StringBuilder("| ").AppendJoin(" | ", Header.Select(Escape)).Append(" |\n|")
            .Append(string.Concat(Enumerable.Repeat("---|", NameColumns))).Append(string.Concat(Enumerable.Repeat("---:|", Header.Count - NameColumns))).Append('\n');
        foreach (var row in Rows) md.Append("| ").AppendJoin(" | ", row.Select(c => Escape(c.Text))).Append(" |\n");
        return md.ToString();
    }
}
