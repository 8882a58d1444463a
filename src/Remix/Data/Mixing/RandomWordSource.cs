namespace Remix.Data.Mixing;

/// <summary>
/// REMIX random word sequences: words drawn uniformly (with replacement) from a word list. The
/// prompt is <c>Memorize the following random-string passage:</c> plus the first
/// <see cref="PromptWords"/> words on a new line; the target is the next <see cref="TargetWords"/> words.
/// </summary>
public sealed class RandomWordSource : IMixingSource
{
    public const string Instruction = "Memorize the following random-string passage:";
    readonly IReadOnlyList<string> _words;

    public RandomWordSource(IReadOnlyList<string> words, int promptWords = 10, int targetWords = 10)
    {
        if (words.Count < 2) throw new ArgumentException("the word list needs at least two words");
        ArgumentOutOfRangeException.ThrowIfNegative(promptWords);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetWords, 1);
        _words = words;
        PromptWords = promptWords;
        TargetWords = targetWords;
    }

    public string Name => "random";
    /// <summary>The distinct words drawn from.</summary>
    public int WordCount => _words.Count;
    public int PromptWords { get; }
    public int TargetWords { get; }

    /// <summary>Reads a word list: one word per line, blank lines and duplicates ignored.</summary>
    public static List<string> LoadWordList(string path)
    {
        var words = Utf8Lines.Read(path).Select(l => l.Text.Trim()).Where(w => w.Length > 0).Distinct().ToList();
        if (words.Count < 2) throw new InvalidInputException(path, $"expected a word list with at least two words, found {words.Count}");
        return words;
    }

    public IReadOnlyList<Example> Sample(int count, int seed)
    {
        var random = new Random(seed);
        var examples = new List<Example>(count);
        for (int i = 0; i < count; i++)
        {
            var words = Enumerable.Range(0, PromptWords + TargetWords).Select(_ => _words[random.Next(_words.Count)]).ToArray();
            var prompt = PromptWords == 0 ? Instruction : $"{Instruction}\n{string.Join(' ', words[..PromptWords])}";
            examples.Add(Example.QuestionAnswer($"random-{seed}-{i}", "mix:random", prompt, string.Join(' ', words[PromptWords..]), kind: ExampleKind.Mix));
        }
        return examples;
    }
}
