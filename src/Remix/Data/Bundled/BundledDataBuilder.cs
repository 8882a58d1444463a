using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Remix.IO;

namespace Remix.Data.Bundled;

/// <summary>
/// Builds the bundled offline datasets under <c>data/</c> from real public sources (npm
/// country-json, countries-list and @exabyte-io/periodic-table.js; Debian wordnet-base, wamerican and
/// miscfiles). Deterministic: the same sources give byte-identical files.
/// </summary>
public static class BundledDataBuilder
{
    /// <summary>A written file with its example count and SHA-256.</summary>
    public sealed record Output(string RelativePath, int Count, string Sha256);

    public static IReadOnlyList<Output> Build(BundledSources sources, string outDir)
    {
        var outputs = new List<Output>
        {
            WriteExamples(outDir, "facts/country-capital.jsonl", CountryCapitals(sources)),
            WriteExamples(outDir, "facts/country-currency.jsonl", CountryFacts(sources, "country-by-currency-name.json", "currency_name", "country-currency",
                c => $"What is the currency of {c}?")),
            WriteExamples(outDir, "facts/country-calling-code.jsonl", CountryFacts(sources, "country-by-calling-code.json", "calling_code", "country-calling-code",
                c => $"What is the international calling code of {c}?")),
            WriteExamples(outDir, "facts/element-symbol.jsonl", ElementSymbols(sources)),
            WriteExamples(outDir, "corpus/wordnet-glosses.jsonl", WordNetDocuments(sources)),
            WriteLines(outDir, "words/english-words.txt", EnglishWords(sources)),
            WriteLines(outDir, "nonfactoid/arithmetic-gsm8k.jsonl", ArithmeticProblems.Generate(ReadGzipLines(sources.ProperNames), 2000, seed: 0)
                .Select(p => JsonSerializer.Serialize(new { question = p.Question, answer = p.Answer }, IO.JsonOptions.Relaxed))),
        };
        return outputs;
    }


    static Output WriteExamples(string outDir, string relative, IReadOnlyList<Example> examples)
    {
        var path = Path.Combine(outDir, relative);
        ExampleJsonl.Write(path, examples);
        return new Output(relative, examples.Count, Sha256(path));
    }

    static Output WriteLines(string outDir, string relative, IEnumerable<string> lines)
    {
        var path = Path.Combine(outDir, relative);
        var list = lines.ToList();
        AtomicFile.WriteAllText(path, string.Concat(list.Select(l => l + "\n")));
        return new Output(relative, list.Count, Sha256(path));
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    static JsonElement ReadJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.Clone();
    }

    /// <summary>"What is the capital of {country}?" from country-json, with countries-list's capital as an alias where it differs.</summary>
    static List<Example> CountryCapitals(BundledSources s)
    {
        var aliases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var c in ReadJson(s.CountriesList).EnumerateObject())
            if (c.Value.TryGetProperty("capital", out var cap) && cap.ValueKind == JsonValueKind.String && cap.GetString() is { Length: > 0 } capital)
                aliases[c.Value.GetProperty("name").GetString()!] = capital;
        var examples = new List<Example>();
        foreach (var row in ReadJson(s.CountryJson("country-by-capital-city.json")).EnumerateArray())
        {
            var country = row.GetProperty("country").GetString()!;
            if (!row.TryGetProperty("city", out var cityValue) || cityValue.ValueKind != JsonValueKind.String || cityValue.GetString() is not { Length: > 0 } city) continue;
            var extra = aliases.TryGetValue(country, out var other) ? new[] { other } : [];
            examples.Add(Example.QuestionAnswer($"country-capital-{Slug(country)}", "country-json", $"What is the capital of {country}?", city.Trim(), extra) with
            {
                Subject = country,
                Relation = "capital",
            });
        }
        return Unique(examples);
    }

    static List<Example> CountryFacts(BundledSources s, string file, string field, string relation, Func<string, string> question)
    {
        var examples = new List<Example>();
        foreach (var row in ReadJson(s.CountryJson(file)).EnumerateArray())
        {
            var country = row.GetProperty("country").GetString()!;
            if (!row.TryGetProperty(field, out var v)) continue;
            var answer = v.ValueKind switch
            {
                JsonValueKind.String => v.GetString()!.Trim(),
                JsonValueKind.Number => v.GetRawText(),
                _ => "",
            };
            if (answer.Length == 0) continue;
            examples.Add(Example.QuestionAnswer($"{relation}-{Slug(country)}", "country-json", question(country), answer) with
            {
                Subject = country,
                Relation = relation,
            });
        }
        return Unique(examples);
    }

    static List<Example> ElementSymbols(BundledSources s) =>
        [.. ReadJson(s.PeriodicTable).EnumerateObject()
            .OrderBy(e => e.Value.GetProperty("atomic_number").GetInt32())
            .Select(e => Example.QuestionAnswer($"element-symbol-{Slug(e.Name)}", "periodic-table.js", $"What is the chemical symbol of {e.Name}?",
                e.Value.GetProperty("symbol").GetString()!) with { Subject = e.Name, Relation = "chemical-symbol" })];

    /// <summary>Drops repeated ids (the same country listed twice), keeping the first.</summary>
    static List<Example> Unique(List<Example> examples) => [.. examples.DistinctBy(e => e.Id)];

    static string Slug(string s) =>
        string.Concat(s.ToLowerInvariant().Normalize(System.Text.NormalizationForm.FormD)
            .Where(c => char.IsAsciiLetterOrDigit(c) || c == ' ' || c == '-').Select(c => c == ' ' ? '-' : c));

    /// <summary>
    /// Generic text: WordNet 3.0 glosses ("word, synonym: definition; \"example\"") in the order of the
    /// noun, verb, adjective and adverb data files, grouped into documents of at least 150 words.
    /// </summary>
    static List<Example> WordNetDocuments(BundledSources s)
    {
        var documents = new List<Example>();
        var current = new List<string>();
        int words = 0;
        foreach (var pos in new[] { "noun", "verb", "adj", "adv" })
        {
            foreach (var line in File.ReadLines(s.WordNetData(pos)))
            {
                if (line.StartsWith(' ')) continue; // licence header
                var entry = WordNetEntry(line);
                if (entry is null) continue;
                current.Add(entry);
                words += entry.Count(c => c == ' ') + 1;
                if (words < 150) continue;
                documents.Add(Document(pos, documents.Count, current));
                current = [];
                words = 0;
            }
        }
        if (current.Count > 0) documents.Add(Document("adv", documents.Count, current));
        return documents;
    }

    static Example Document(string pos, int index, List<string> entries) => new()
    {
        Id = $"wordnet-{index:D5}",
        Source = "wordnet-3.0",
        Kind = ExampleKind.Document,
        Text = string.Join(' ', entries),
    };

    static string? WordNetEntry(string line)
    {
        int bar = line.IndexOf(" | ", StringComparison.Ordinal);
        if (bar < 0) return null;
        var fields = line[..bar].Split(' ');
        int count = Convert.ToInt32(fields[3], 16);
        var lemmas = Enumerable.Range(0, count).Select(i => fields[4 + 2 * i]).Select(w =>
        {
            int paren = w.IndexOf('(');
            return (paren > 0 ? w[..paren] : w).Replace('_', ' ');
        }).Distinct().Take(3);
        var gloss = line[(bar + 3)..].Trim();
        return $"{string.Join(", ", lemmas)}: {gloss}{(gloss.EndsWith('.') || gloss.EndsWith('"') ? "" : ".")}";
    }

    /// <summary>Lowercase ASCII words of 3 to 12 letters from wamerican's american-english list.</summary>
    static IEnumerable<string> EnglishWords(BundledSources s) =>
        File.ReadLines(s.AmericanEnglish).Select(w => w.Trim())
            .Where(w => w.Length is >= 3 and <= 12 && w.All(char.IsAsciiLetterLower))
            .Distinct().Order(StringComparer.Ordinal);

    static List<string> ReadGzipLines(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) if (line.Trim().Length > 0) lines.Add(line.Trim());
        return lines;
    }
}
