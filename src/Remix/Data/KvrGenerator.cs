namespace Remix.Data;

/// <summary>
/// Synthetic key-value recall (KVR) facts: "The value of key {key} is?" -> value, with 8-character
/// lowercase alphanumeric keys and values. Deterministic for a seed; keys never repeat, and a second
/// set can be made disjoint from a first.
/// </summary>
public static class KvrGenerator
{
    const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    public const int TokenLength = 8;

    /// <summary><paramref name="count"/> facts whose keys and values avoid every string in <paramref name="exclude"/>.</summary>
    public static List<Example> Generate(int count, int seed, IEnumerable<Example>? exclude = null, string idPrefix = "kvr")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in exclude ?? [])
        {
            if (e.Subject is not null) used.Add(e.Subject);
            foreach (var a in e.Answers) used.Add(a);
        }
        var random = new Random(seed);
        string Fresh()
        {
            while (true)
            {
                var s = string.Create(TokenLength, random, (span, r) => { for (int i = 0; i < span.Length; i++) span[i] = Alphabet[r.Next(Alphabet.Length)]; });
                if (used.Add(s)) return s;
            }
        }
        var facts = new List<Example>(count);
        for (int i = 0; i < count; i++)
        {
            var key = Fresh();
            var value = Fresh();
            facts.Add(Example.QuestionAnswer($"{idPrefix}-{i}", "kvr", QuestionPrompts.KeyValue(key), value) with { Subject = key, Relation = "kvr" });
        }
        return facts;
    }

    /// <summary>Two disjoint sets (A for stage 1, B for stage 2) from one seed.</summary>
    public static (List<Example> A, List<Example> B) GeneratePair(int countA, int countB, int seed)
    {
        var a = Generate(countA, seed, idPrefix: "kvr-a");
        var b = Generate(countB, seed + 1, exclude: a, idPrefix: "kvr-b");
        return (a, b);
    }
}
