namespace Remix.IO;

/// <summary>
/// The valid name a mistyped one was probably meant to be, for "did you mean" hints on command lines and in spec files.
/// </summary>
public static class NearestName
{
    /// <summary>
    /// The name nearest to <paramref name="word"/> (dashes and case aside) if it is a slip away — at most one edit per
    /// three letters, a swap of neighbours counting as one — or else the only name that <paramref name="word"/> begins.
    /// </summary>
    public static string? Closest(string word, IEnumerable<string> names)
    {
        static string Bare(string s) => s.TrimStart('-').ToLowerInvariant();
        var bare = Bare(word);
        var candidates = names.Distinct().Select(n => (Name: n, Distance: Distance(bare, Bare(n)))).ToList();
        if (candidates.Count == 0) return null;
        var nearest = candidates.MinBy(c => c.Distance);
        if (nearest.Distance <= Math.Max(1, bare.Length / 3)) return nearest.Name;
        var extending = candidates.Where(c => bare.Length >= 3 && Bare(c.Name).StartsWith(bare, StringComparison.Ordinal)).ToList();
        return extending.Count == 1 ? extending[0].Name : null;
    }

    /// <summary>Edits (insert, delete, replace, swap two neighbours) that turn <paramref name="a"/> into <paramref name="b"/>.</summary>
    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
