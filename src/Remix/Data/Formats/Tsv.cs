using System.Text;

namespace Remix.Data.Formats;

/// <summary>
/// Tab-separated records as pandas writes them (QUOTE_MINIMAL): a field that starts with a double
/// quote runs to the closing quote, doubled quotes inside it stand for one, and it may span lines.
/// </summary>
internal static class Tsv
{
    public static IEnumerable<(int Line, string[] Cells)> Read(string path)
    {
        var cells = new List<string>();
        var field = new StringBuilder();
        bool inQuotes = false;
        int recordLine = 0;
        foreach (var (line, text) in Utf8Lines.Read(path))
        {
            if (!inQuotes)
            {
                if (text.Length == 0) continue;
                recordLine = line;
            }
            else field.Append('\n');
            int i = 0;
            while (i <= text.Length)
            {
                if (inQuotes)
                {
                    int close = text.IndexOf('"', i);
                    if (close < 0) { field.Append(text, i, text.Length - i); i = text.Length + 1; break; }
                    field.Append(text, i, close - i);
                    if (close + 1 < text.Length && text[close + 1] == '"') { field.Append('"'); i = close + 2; continue; }
                    inQuotes = false;
                    i = close + 1;
                    continue;
                }
                if (i < text.Length && text[i] == '"' && field.Length == 0) { inQuotes = true; i++; continue; }
                int tab = text.IndexOf('\t', i);
                if (tab < 0) { field.Append(text, i, text.Length - i); cells.Add(field.ToString()); field.Clear(); break; }
                field.Append(text, i, tab - i);
                cells.Add(field.ToString());
                field.Clear();
                i = tab + 1;
            }
            if (!inQuotes)
            {
                yield return (recordLine, [.. cells]);
                cells.Clear();
            }
        }
        if (inQuotes) throw new InvalidInputException(path, $"line {recordLine}: a quoted field is never closed");
    }
}
