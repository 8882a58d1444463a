namespace Remix.Data.Formats;

/// <summary>Generic text corpora, read as documents: JSON Lines with <c>text</c> or <c>content</c>.</summary>
internal sealed class JsonlCorpusFormat : IDatasetFormat
{
    public string Name => "corpus-jsonl";
    public string Description => "Generic corpus: JSONL with a 'text' or 'content' field per document";

    public bool Matches(FileProbe p) => !p.JsonList && !p.JsonObject && (p.Has("text") || p.Has("content"));

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options) => Formats.Rows.JsonLines(path, (f, line) =>
    {
        var text = f.Has("text") ? f.OptionalString("text") : f.OptionalString("content");
        if (text is null) throw f.Error("text", "a string (or a 'content' string)", f.Raw("text") ?? f.Raw("content"));
        if (string.IsNullOrWhiteSpace(text)) return RowOutcome.Skip("empty document");
        var id = f.Raw("id")?.ToString() ?? Formats.Rows.LineId(path, line);
        return RowOutcome.Of(Document(id, Path.GetFileName(path), text));
    });

    public static Example Document(string id, string source, string text) =>
        new() { Id = id, Source = source, Kind = ExampleKind.Document, Text = text };
}

/// <summary>Plain text corpora: documents separated by blank lines.</summary>
internal sealed class TextCorpusFormat : IDatasetFormat
{
    public string Name => "corpus-text";
    public string Description => "Generic corpus: plain UTF-8 text, documents separated by blank lines";

    public bool Matches(FileProbe p) => p.Extension is ".txt" or ".text" or ".md";

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options)
    {
        var paragraph = new List<string>();
        int start = 0;
        foreach (var (line, text) in Utf8Lines.Read(path))
        {
            if (!string.IsNullOrWhiteSpace(text))
            {
                if (paragraph.Count == 0) start = line;
                paragraph.Add(text.Trim());
                continue;
            }
            if (paragraph.Count > 0) yield return Row(path, start, paragraph);
            paragraph = [];
        }
        if (paragraph.Count > 0) yield return Row(path, start, paragraph);
    }

    static DatasetRow Row(string path, int line, List<string> lines)
    {
        var text = string.Join(' ', lines);
        return new DatasetRow(line, () => RowOutcome.Of(JsonlCorpusFormat.Document(Formats.Rows.LineId(path, line), Path.GetFileName(path), text)));
    }
}

/// <summary>Parquet corpora: a <c>text</c> (or <c>content</c>) string column, one document per row.</summary>
internal sealed class ParquetCorpusFormat : IDatasetFormat
{
    public string Name => "corpus-parquet";
    public string Description => "Generic corpus: Parquet with a 'text' or 'content' string column";

    public bool Matches(FileProbe p) => p.Extension == ".parquet";

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options)
    {
        foreach (var (row, text) in ReadColumn(path))
        {
            int line = row + 1;
            yield return new DatasetRow(line, () => string.IsNullOrWhiteSpace(text)
                ? RowOutcome.Skip("empty document")
                : RowOutcome.Of(JsonlCorpusFormat.Document($"{Path.GetFileNameWithoutExtension(path)}-{line}", Path.GetFileName(path), text)));
        }
    }

    static IEnumerable<(int Row, string? Text)> ReadColumn(string path)
    {
        using var stream = Utf8Lines.OpenRead(path);
        Parquet.ParquetReader reader;
        try { reader = Parquet.ParquetReader.CreateAsync(stream).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is IOException or InvalidDataException or Parquet.ParquetException)
        {
            throw new InvalidInputException(path, $"not a readable Parquet file: {e.Message.Split('\n')[0]}");
        }
        try
        {
            var fields = reader.Schema.GetDataFields();
            var field = fields.FirstOrDefault(f => f.Name == "text") ?? fields.FirstOrDefault(f => f.Name == "content")
                ?? throw new InvalidInputException(path, $"expected a 'text' or 'content' column, found {string.Join(", ", fields.Select(f => f.Name))}");
            int row = 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var values = new string?[group.RowCount];
                try { group.ReadAsync(field, values.AsMemory(), null, CancellationToken.None).AsTask().GetAwaiter().GetResult(); }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or NotSupportedException or Parquet.ParquetException)
                {
                    throw new InvalidInputException(path, $"column '{field.Name}': expected strings ({e.Message.Split('\n')[0]})");
                }
                foreach (var v in values) yield return (row++, v);
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
