namespace Remix.Evaluation;

/// <summary>ROUGE-L F1 between a prediction and a reference: longest common subsequence of lowercase whitespace tokens.</summary>
public static class RougeL
{
    public static double F1(string prediction, string reference)
    {
        var p = Tokens(prediction);
        var r = Tokens(reference);
        if (p.Length == 0 || r.Length == 0) return p.Length == r.Length ? 1 : 0;
        int lcs = LongestCommonSubsequence(p, r);
        if (lcs == 0) return 0;
        double precision = (double)lcs / p.Length, recall = (double)lcs / r.Length;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>The best score over several references (gold aliases).</summary>
    public static double Best(string prediction, IEnumerable<string> references) => references.Select(r => F1(prediction, r)).DefaultIfEmpty(0).Max();

    static string[] Tokens(string s) => s.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    static int LongestCommonSubsequence(string[] a, string[] b)
    {
        var row = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = 0;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = a[i - 1] == b[j - 1] ? diagonal + 1 : Math.Max(row[j], row[j - 1]);
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
