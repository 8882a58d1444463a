using Remix.Data;
using Remix.Data.Formats;

namespace Remix.Tests.Data;

public class DatasetFormatsTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "datasets", name);

    static DatasetReadResult Read(string name, string? format = null) => DatasetReader.Read(Fixture(name), new DatasetReadOptions { Format = format });

    [Fact]
    public void PopQaTsv_ParsesQuotedJsonListCells_AndAddsTheAnswerSuffix()
    {
        var r = Read("popqa.tsv");
        Assert.Equal(("popqa", 2, 0), (r.Format, r.Examples.Count, r.Skipped));
        var e = r.Examples[0];
        Assert.Equal("What is George Rankin's occupation?\nThe answer is: ", e.Question);
        Assert.Equal("politician", e.Target);
        Assert.Equal(["politician", "political leader", "political figure"], e.Answers);
        Assert.Equal(("popqa-4222362", "George Rankin", "occupation"), (e.Id, e.Subject, e.Relation));
    }

    [Theory]
    [InlineData("popqa-flashrag.jsonl", 3, "politician", "political leader")]
    [InlineData("popqa-possible.jsonl", 2, "politician", "political leader")]
    public void PopQaJsonl_ReadsGoldenOrPossibleAnswers(string file, int count, string first, string alias)
    {
        var r = Read(file);
        Assert.Equal(("popqa", count), (r.Format, r.Examples.Count));
        Assert.Equal([first, alias], r.Examples[0].Answers);
        Assert.EndsWith("\nThe answer is: ", r.Examples[0].Question);
    }

    [Fact]
    public void PopQaJsonl_AcceptsPythonListLiterals()
    {
        Assert.Equal(["journalist", "journo"], Read("popqa-possible.jsonl").Examples[1].Answers);
    }

    [Fact]
    public void EntityQuestions_TakesTheRelationFromTheFileName()
    {
        var r = Read("entityquestions/P17.test.json");
        Assert.Equal(("entityquestions", 3), (r.Format, r.Examples.Count));
        Assert.Equal("Which country is Wymysłów located in?", r.Examples[1].Question);
        Assert.Equal(["Poland", "Republic of Poland"], r.Examples[1].Answers);
        Assert.All(r.Examples, e => Assert.Equal("P17", e.Relation));
    }

    [Fact]
    public void WebQuestions_BothLayouts_MatchByPredictionInGold()
    {
        var repacked = Read("webquestions.json");
        Assert.Equal(("webquestions", 2), (repacked.Format, repacked.Examples.Count));
        Assert.Equal(["Jamaican English", "Jamaican Creole English Language"], repacked.Examples[0].Answers);
        var original = Read("webquestions-original.json");
        Assert.Equal(("webquestions", 2), (original.Format, original.Examples.Count));
        Assert.Equal(["Jazmine Sullivan", "Christopher"], original.Examples[0].Answers);
        Assert.Equal(["Padmé Amidala"], original.Examples[1].Answers);
        Assert.All(original.Examples, e => Assert.Equal(AnswerMatch.PredictionInGold, e.Match));
    }

    [Fact]
    public void TriviaQa_ReadsValueAndAliases_WithTheSuffix()
    {
        var r = Read("triviaqa.json");
        Assert.Equal(("triviaqa", 2), (r.Format, r.Examples.Count));
        Assert.Equal("Which Lloyd Webber musical premiered in the US on 10th December 1993?\nThe answer is: ", r.Examples[0].Question);
        Assert.Equal(["Sunset Boulevard", "Sunset Blvd"], r.Examples[0].Answers);
        Assert.Equal("triviaqa-tc_40", r.Examples[1].Id);
    }

    [Fact]
    public void LamaTrex_TurnsTemplatesIntoClozePrompts()
    {
        var r = Read("lama/P19.jsonl");
        Assert.Equal(("lama-trex", 2), (r.Format, r.Examples.Count));
        Assert.Equal(("Dante was born in", "Florence"), (r.Examples[0].Question, r.Target(0)));
        Assert.Equal(("Dante", "P19"), (r.Examples[0].Subject, r.Examples[0].Relation));
        var twin = Read("lama/P190.jsonl");
        Assert.Equal("Fill in the blank: Berlin and ___ are twin cities.", twin.Examples[0].Question);
    }

    [Fact]
    public void LamaTrex_PrefersARelationsFileFoundNearTheData()
    {
        var r = Read("lama-custom/TREx/P19.jsonl");
        Assert.Equal("Dante was born in the city of", r.Examples[0].Question);
    }

    [Fact]
    public void Gsm8k_KeepsTheWorkedAnswerAsTarget()
    {
        var r = Read("gsm8k.jsonl");
        Assert.Equal(("gsm8k", 2), (r.Format, r.Examples.Count));
        Assert.Equal(ExampleKind.NonFactoid, r.Examples[0].Kind);
        Assert.EndsWith("#### 72", r.Examples[0].Target);
        Assert.Empty(r.Examples[0].Answers);
    }

    [Fact]
    public void Math_ReadsADirectoryOfOneProblemFiles()
    {
        var r = Read("math");
        Assert.Equal(("math", 2), (r.Format, r.Examples.Count));
        Assert.Equal("Solve for $x$: $2x + 3 = 7$.", r.Examples[0].Question);
        Assert.Equal("Algebra", r.Examples[0].Relation);
        Assert.Equal("math", Read("math/algebra/2.json").Format);
    }

    [Fact]
    public void EvolInstructCode_ReadsInstructionAndOutput()
    {
        var r = Read("evol-instruct-code.json");
        Assert.Equal(("evol-instruct-code", 2), (r.Format, r.Examples.Count));
        Assert.Equal("def reverse(s):\n    return s[::-1]", r.Examples[0].Target);
    }

    [Fact]
    public void Apps_UsesTheFirstSolution_AndCountsProblemsWithout()
    {
        var r = Read("apps.jsonl");
        Assert.Equal(("apps", 2, 1), (r.Format, r.Examples.Count, r.Skipped));
        Assert.Equal(1, r.SkipReasons["no solution"]);
        Assert.Equal("a, b = map(int, input().split())\nprint(a + b)", r.Examples[0].Target);
        Assert.Equal("Return the maximum.\n\nStarter code:\nclass Solution:\n    def f(self, xs):", r.Examples[1].Question);
    }

    [Fact]
    public void UltraChat_AlternatesTurns_AndDropsATrailingQuestion()
    {
        var r = Read("ultrachat.jsonl");
        Assert.Equal(("ultrachat", 2), (r.Format, r.Examples.Count));
        Assert.Equal(4, r.Examples[0].Turns.Count);
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.User, ChatRole.Assistant], r.Examples[0].Turns.Select(t => t.Role));
        Assert.Equal(2, r.Examples[1].Turns.Count);
    }

    [Theory]
    [InlineData("corpus.jsonl", "corpus-jsonl", 2, 1)]
    [InlineData("corpus-content.jsonl", "corpus-jsonl", 1, 0)]
    [InlineData("corpus.txt", "corpus-text", 3, 0)]
    public void Corpora_BecomeDocuments(string file, string format, int count, int skipped)
    {
        var r = Read(file);
        Assert.Equal((format, count, skipped), (r.Format, r.Examples.Count, r.Skipped));
        Assert.All(r.Examples, e => Assert.Equal(ExampleKind.Document, e.Kind));
    }

    [Fact]
    public void TextCorpus_JoinsTheLinesOfAParagraph()
    {
        Assert.Equal("First paragraph line one line two.", Read("corpus.txt").Examples[0].Text);
    }

    [Fact]
    public void ParquetCorpus_ReadsTheTextColumn()
    {
        using var dir = new Support.TempDir();
        var path = dir.File("corpus.parquet");
        var field = new Parquet.Schema.DataField<string>("text");
        using (var stream = File.Create(path))
        {
            var writer = Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(field), stream).GetAwaiter().GetResult();
            using (var group = writer.CreateRowGroup())
                group.WriteAsync(field, (IReadOnlyCollection<string>)new[] { "one document", "", "another document" }, null).GetAwaiter().GetResult();
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        var r = DatasetReader.Read(path);
        Assert.Equal(("corpus-parquet", 2, 1), (r.Format, r.Examples.Count, r.Skipped));
        Assert.Equal("another document", r.Examples[1].Text);
    }

    [Fact]
    public void FormatOption_OverridesDetection()
    {
        using var dir = new Support.TempDir();
        File.WriteAllText(dir.File("qa.jsonl"), "{\"question\": \"1+1?\", \"answer\": \"2\"}\n");
        Assert.Throws<InvalidInputException>(() => DatasetReader.Read(dir.File("qa.jsonl"))); // no "####": not recognisably GSM8K
        var r = DatasetReader.Read(dir.File("qa.jsonl"), new DatasetReadOptions { Format = "gsm8k" });
        Assert.Equal(("gsm8k", "2"), (r.Format, r.Examples[0].Target));
        var e = Assert.Throws<InvalidInputException>(() => Read("gsm8k.jsonl", format: "nope"));
        Assert.StartsWith("--format: expected one of remix, popqa,", e.Message);
    }

    [Fact]
    public void UnknownLayout_AsksForFormat()
    {
        using var dir = new Support.TempDir();
        File.WriteAllText(dir.File("x.jsonl"), "{\"foo\": 1}\n");
        var e = Assert.Throws<InvalidInputException>(() => DatasetReader.Read(dir.File("x.jsonl")));
        Assert.Equal($"{dir.File("x.jsonl")}: could not tell the dataset format from its fields (foo); pass --format (in a spec, data: {{file, format}}) with one of {string.Join(", ", DatasetReader.FormatNames)}", e.Message);
    }
}

static class ResultExtensions
{
    public static string Target(this DatasetReadResult r, int i) => r.Examples[i].Target;
}
