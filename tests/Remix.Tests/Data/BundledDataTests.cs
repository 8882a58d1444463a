using System.Text.RegularExpressions;
using Remix.Data;
using Remix.Data.Bundled;

namespace Remix.Tests.Data;

public partial class BundledDataTests
{
    static string RepoFile(string relative) => BundledPaths.Find(relative);

    [Theory]
    [InlineData("data/facts/country-capital.jsonl", "remix", 238)]
    [InlineData("data/facts/country-currency.jsonl", "remix", 242)]
    [InlineData("data/facts/country-calling-code.jsonl", "remix", 243)]
    [InlineData("data/facts/element-symbol.jsonl", "remix", 118)]
    [InlineData("data/nonfactoid/arithmetic-gsm8k.jsonl", "gsm8k", 2000)]
    public void BundledSets_LoadWithTheirDocumentedCounts(string file, string format, int count)
    {
        var r = DatasetReader.Read(RepoFile(file));
        Assert.Equal((format, count, 0), (r.Format, r.Examples.Count, r.Skipped));
        Assert.Equal(r.Examples.Count, r.Examples.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public void FactorySets_HaveDifferentRelations_AndOneAnswerEach()
    {
        var capitals = DatasetReader.Read(RepoFile("data/facts/country-capital.jsonl")).Examples;
        var symbols = DatasetReader.Read(RepoFile("data/facts/element-symbol.jsonl")).Examples;
        Assert.All(capitals, e => Assert.Equal("capital", e.Relation));
        Assert.All(symbols, e => Assert.Equal("chemical-symbol", e.Relation));
        Assert.Contains(symbols, e => e.Subject == "Hydrogen" && e.Target == "H");
        Assert.Contains(capitals, e => e.Subject == "France" && e.Answers.Contains("Paris"));
    }

    [Fact]
    public void GenericCorpus_HasDocumentsLongEnoughForPassages()
    {
        var docs = DatasetReader.Read(RepoFile("data/corpus/wordnet-glosses.jsonl")).Examples;
        Assert.True(docs.Count > 10_000);
        Assert.All(docs.Take(500), d => Assert.True(d.Text!.Split(' ').Length >= 100));
        var words = Remix.Data.Mixing.RandomWordSource.LoadWordList(RepoFile("data/words/english-words.txt"));
        Assert.True(words.Count > 50_000);
        Assert.All(words.Take(1000), w => Assert.Matches("^[a-z]{3,12}$", w));
    }

    [Fact]
    public void ArithmeticProblems_AreDeterministic_AndEveryAnnotatedStepIsRight()
    {
        string[] names = ["Ann", "Bo", "Cy"];
        var a = ArithmeticProblems.Generate(names, 200, seed: 1);
        Assert.Equal(a, ArithmeticProblems.Generate(names, 200, seed: 1));
        foreach (var p in a)
        {
            foreach (Match step in Step().Matches(p.Answer))
                Assert.Equal(long.Parse(step.Groups["r"].Value), Evaluate(step.Groups["e"].Value));
            Assert.EndsWith($"#### {p.Result}", p.Answer);
            Assert.Equal(p.Result.ToString(), Step().Matches(p.Answer)[^1].Groups["r"].Value);
        }
    }

    /// <summary>Left-to-right evaluation of a*b/c+d-style expressions with * and / before + and -.</summary>
    static long Evaluate(string expression)
    {
        var terms = Regex.Split(expression, @"(?=[+-])").Where(t => t.Length > 0);
        long total = 0;
        foreach (var term in terms)
        {
            int sign = term[0] == '-' ? -1 : 1;
            var factors = Regex.Split(term.TrimStart('+', '-'), @"(?=[*/])");
            long value = long.Parse(factors[0]);
            foreach (var f in factors.Skip(1))
                value = f[0] == '*' ? value * long.Parse(f[1..]) : value / long.Parse(f[1..]);
            total += sign * value;
        }
        return total;
    }

    [GeneratedRegex(@"<<(?<e>[^=]+)=(?<r>-?\d+)>>")]
    private static partial Regex Step();
}
