namespace Remix.Data.Mixing;

/// <summary>
/// REMIX generic text: from a pretraining-like corpus, the prompt is
/// <c>Complete the following partial passage:\n\n</c> plus words 0..49 of a document and the target is
/// words 50..99 (both lengths configurable). Documents shorter than the two together are skipped.
/// Documents are drawn without replacement until all are used, then the cycle restarts.
/// </summary>
public sealed class GenericPassageSource : IMixingSource
{
    public const string Instruction = "Complete the following partial passage:\n\n";
    readonly List<string[]> _documents;

    /// <summary>
    /// Keeps the documents of <paramref name="corpus"/> long enough for a passage; none being so is refused with
    /// <paramref name="origin"/> (the corpus file, when it came from one) named.
    /// </summary>
    public GenericPassageSource(IEnumerable<Example> corpus, int promptWords = 50, int targetWords = 50, string origin = "generic corpus")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(promptWords, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetWords, 1);
        PromptWords = promptWords;
        TargetWords = targetWords;
        int total = 0;
        _documents = [];
        foreach (var doc in corpus)
        {
            total++;
            var text = doc.Kind == ExampleKind.Document ? doc.Text : string.Join(' ', doc.Turns.Select(t => t.Content));
            var words = (text ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= promptWords + targetWords) _documents.Add(words);
        }
        SkippedShort = total - _documents.Count;
        if (_documents.Count == 0)
            throw new InvalidInputException(origin, $"none of its {total} documents has the {promptWords + targetWords} words a passage needs");
    }

    public string Name => "generic";
    public int PromptWords { get; }
    public int TargetWords { get; }
    /// <summary>Documents too short to use.</summary>
    public int SkippedShort { get; }
    public int UsableDocuments => _documents.Count;

    public IReadOnlyList<Example> Sample(int count, int seed)
    {
        var random = new Random(seed);
        var order = new int[_documents.Count];
        var examples = new List<Example>(count);
        for (int i = 0; i < count; i++)
        {
            int position = i % order.Length;
            if (position == 0)
            {
                for (int k = 0; k < order.Length; k++) order[k] = k;
                random.Shuffle(order);
            }
            var words = _documents[order[position]];
            examples.Add(Example.QuestionAnswer($"generic-{seed}-{i}", "mix:generic",
                Instruction + string.Join(' ', words[..PromptWords]),
                string.Join(' ', words[PromptWords..(PromptWords + TargetWords)]), kind: ExampleKind.Mix));
        }
        return examples;
    }
}
