using System.Text;
using System.Text.RegularExpressions;

namespace Remix.Tokenization;

/// <summary>
/// Trains a byte-level BPE tokenizer: text is split with GPT-2's pre-tokenizer pattern (the one the
/// ByteLevel pre-tokenizer applies), each piece becomes byte-level symbols, and the most frequent
/// adjacent pair is merged until the vocabulary is full. Ties go to the pair whose merged string is
/// smallest (ordinal), so training is deterministic.
/// </summary>
public static partial class BpeTrainer
{
    /// <summary>The trained vocabulary (id order: the 256 byte symbols, then one per merge) and the ranked merges.</summary>
    public sealed record Result(IReadOnlyList<string> Vocabulary, IReadOnlyList<(string Left, string Right)> Merges, long WordsSeen, int UniqueWords);

    /// <summary>GPT-2's split, as in the tokenizers library's ByteLevel pre-tokenizer.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    public static partial Regex PreTokenizer();

    /// <summary>
    /// Learns merges from <paramref name="texts"/> until the vocabulary holds <paramref name="vocabularySize"/>
    /// symbols (bytes plus merges; added tokens come on top), or no pair occurs at least <paramref name="minFrequency"/> times.
    /// </summary>
    public static Result Train(IEnumerable<string> texts, int vocabularySize, int minFrequency = 2)
    {
        if (vocabularySize < 256) throw new ArgumentOutOfRangeException(nameof(vocabularySize), "a byte-level vocabulary needs at least 256 entries");
        var alphabet = ByteLevelTokenizerFiles.ByteAlphabet();
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        long wordsSeen = 0;
        foreach (var text in texts)
            foreach (Match m in PreTokenizer().Matches(text))
            {
                wordCounts[m.Value] = wordCounts.GetValueOrDefault(m.Value) + 1;
                wordsSeen++;
            }

        // Words as symbol-id lists; symbol ids 0..255 are bytes.
        var words = new List<int[]>(wordCounts.Count);
        var freqs = new List<int>(wordCounts.Count);
        foreach (var (word, count) in wordCounts.OrderBy(w => w.Key, StringComparer.Ordinal))
        {
            words.Add([.. Encoding.UTF8.GetBytes(word).Select(b => (int)b)]);
            freqs.Add(count);
        }
        var vocabulary = new List<string>(alphabet);
        var merges = new List<(string, string)>();
        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        static long Key(int a, int b) => ((long)a << 32) | (uint)b;

        void AddPairs(int w, int sign)
        {
            var s = words[w];
            for (int i = 0; i + 1 < s.Length; i++)
            {
                long key = Key(s[i], s[i + 1]);
                pairCounts[key] = pairCounts.GetValueOrDefault(key) + sign * freqs[w];
                if (sign > 0)
                {
                    if (!pairWords.TryGetValue(key, out var set)) pairWords[key] = set = [];
                    set.Add(w);
                }
            }
        }
        for (int w = 0; w < words.Count; w++) AddPairs(w, +1);

        // Highest count first; among equals, the smallest merged string. Stale entries are skipped when popped.
        var queue = new PriorityQueue<long, (long NegCount, string Merged)>(Comparer<(long, string)>.Create((x, y) =>
            x.Item1 != y.Item1 ? x.Item1.CompareTo(y.Item1) : string.CompareOrdinal(x.Item2, y.Item2)));
        string Merged(long key) => vocabulary[(int)(key >> 32)] + vocabulary[(int)(key & 0xffffffff)];
        foreach (var (key, count) in pairCounts) queue.Enqueue(key, (-count, Merged(key)));

        while (vocabulary.Count < vocabularySize && queue.TryDequeue(out long best, out var priority))
        {
            long current = pairCounts.GetValueOrDefault(best);
            if (current != -priority.NegCount) continue;       // stale
            if (current < minFrequency) break;
            int a = (int)(best >> 32), b = (int)(best & 0xffffffff), merged = vocabulary.Count;
            merges.Add((vocabulary[a], vocabulary[b]));
            vocabulary.Add(vocabulary[a] + vocabulary[b]);
            var touched = new HashSet<long>();
            foreach (int w in pairWords[best].ToArray())
            {
                var s = words[w];
                AddPairs(w, -1);
                var rewritten = new List<int>(s.Length);
                for (int i = 0; i < s.Length; i++)
                {
                    if (i + 1 < s.Length && s[i] == a && s[i + 1] == b) { rewritten.Add(merged); i++; }
                    else rewritten.Add(s[i]);
                }
                words[w] = [.. rewritten];
                AddPairs(w, +1);
                for (int i = 0; i + 1 < words[w].Length; i++) touched.Add(Key(words[w][i], words[w][i + 1]));
                for (int i = 0; i + 1 < s.Length; i++) touched.Add(Key(s[i], s[i + 1]));
            }
            pairCounts.Remove(best);
            pairWords.Remove(best);
            foreach (var key in touched)
                if (pairCounts.TryGetValue(key, out long c) && c > 0) queue.Enqueue(key, (-c, Merged(key)));
        }
        return new Result(vocabulary, merges, wordsSeen, wordCounts.Count);
    }

    /// <summary>Trains and writes a tokenizer with BOS/EOS/PAD (special) and the chat markers as single, non-special tokens.</summary>
    public static Result TrainAndWrite(IEnumerable<string> texts, int vocabularySize, string directory, int modelMaxLength = 2048)
    {
        var added = new List<TokenizerFiles.AddedToken>
        {
            new(ByteLevelTokenizerFiles.Bos, true), new(ByteLevelTokenizerFiles.Eos, true), new(ByteLevelTokenizerFiles.Pad, true),
            new("<|user|>", false), new("<|assistant|>", false),
        };
        var result = Train(texts, vocabularySize - added.Count);
        Directory.CreateDirectory(directory);
        TokenizerFiles.Write(directory, result.Vocabulary, result.Merges, added, ByteLevelTokenizerFiles.Bos, ByteLevelTokenizerFiles.Eos, ByteLevelTokenizerFiles.Pad, modelMaxLength);
        return result;
    }
}
