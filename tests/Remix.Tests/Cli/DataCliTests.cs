using System.Text.Json;
using Remix.Cli;
using Remix.Data;
using Remix.Tests.Support;

namespace Remix.Tests.Cli;

public class DataCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => Support.Cli.Run(args);

    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "datasets", name);

    [Theory]
    [InlineData("popqa.tsv", "popqa", 2, 0)]
    [InlineData("triviaqa.json", "triviaqa", 2, 0)]
    [InlineData("apps.jsonl", "apps", 2, 1)]
    public void InspectJson_PrintsFormatCountsAndASample(string file, string format, int examples, int skipped)
    {
        var r = Run("data", "inspect", Fixture(file), "--json");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        var o = doc.RootElement;
        Assert.Equal(format, o.GetProperty("format").GetString());
        Assert.Equal(examples, o.GetProperty("examples").GetInt32());
        Assert.Equal(skipped, o.GetProperty("skipped").GetInt32());
        Assert.True(o.GetProperty("sample").GetProperty("messages").GetArrayLength() >= 2);
    }

    [Fact]
    public void InspectWithModel_AddsTokenLengths()
    {
        using var dir = new TempDir();
        Run("model", "init", "--out", dir.Path);
        var r = Run("data", "inspect", Fixture("gsm8k.jsonl"), "--json", "--model", dir.Path);
        using var doc = JsonDocument.Parse(r.Out);
        var lengths = doc.RootElement.GetProperty("token_lengths").GetProperty("example");
        // Byte-level tokenizer: BOS + template + question bytes + answer bytes + EOS.
        var longest = DatasetReader.Read(Fixture("gsm8k.jsonl")).Examples
            .Max(e => 1 + System.Text.Encoding.UTF8.GetByteCount(Remix.Tokenization.ChatTemplate.Default.Prompt(e.Question) + e.Target) + 1);
        Assert.Equal(longest, lengths.GetProperty("max").GetDouble());
    }

    [Fact]
    public void Inspect_BadRow_ExitsNonZeroWithOneLine_OrSkipsWithSkipBad()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("g.jsonl"), "{\"question\": \"q\", \"answer\": \"#### 1\"}\n{\"question\": 3, \"answer\": \"#### 2\"}\n");
        var r = Run("data", "inspect", dir.File("g.jsonl"));
        Assert.Equal(1, r.Code);
        Assert.Equal($"remix: {dir.File("g.jsonl")}: line 2: field 'question': expected a string, found 3{Environment.NewLine}", r.Err);
        var skip = Run("data", "inspect", dir.File("g.jsonl"), "--skip-bad", "--json");
        Assert.Equal(0, skip.Code);
        using var doc = JsonDocument.Parse(skip.Out);
        Assert.Equal((1, 1), (doc.RootElement.GetProperty("examples").GetInt32(), doc.RootElement.GetProperty("skipped").GetInt32()));
    }

    [Fact]
    public void Kvr_WritesTwoDisjointSets()
    {
        using var dir = new TempDir();
        var r = Run("data", "kvr", "--n", "50", "--seed", "7", "--out", dir.File("a.jsonl"), "--n-b", "20", "--out-b", dir.File("b.jsonl"));
        Assert.Equal(0, r.Code);
        var a = DatasetReader.Read(dir.File("a.jsonl")).Examples;
        var b = DatasetReader.Read(dir.File("b.jsonl")).Examples;
        Assert.Equal((50, 20), (a.Count, b.Count));
        Assert.Empty(a.Select(e => e.Subject).Intersect(b.Select(e => e.Subject)));
        Assert.Equal(KvrGenerator.GeneratePair(50, 20, 7).A.Select(ExampleJsonl.ToJson), a.Select(ExampleJsonl.ToJson));
    }

    [Fact]
    public void FilterKnown_WritesKnownUnknownAndPredictions()
    {
        using var dir = new TempDir();
        Run("model", "init", "--out", dir.File("m"));
        ExampleJsonl.Write(dir.File("facts.jsonl"), KvrGenerator.Generate(10, 1));
        var r = Run("data", "filter-known", "--model", dir.File("m"), "--data", dir.File("facts.jsonl"), "--out", dir.File("split"));
        Assert.Equal(0, r.Code);
        Assert.Contains("facts:   10", r.Out);
        int known = File.ReadAllLines(dir.File("split/known.jsonl")).Length, unknown = File.ReadAllLines(dir.File("split/unknown.jsonl")).Length;
        Assert.Equal(10, known + unknown);
        Assert.Equal(10, unknown); // a random model knows no random keys
        // The same per-example records as remix eval writes.
        var predictions = File.ReadAllLines(dir.File("split/predictions.jsonl")).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(KvrGenerator.Generate(10, 1).Select(e => e.Id), predictions.Select(p => p.GetProperty("id").GetString()));
        Assert.All(predictions, p => Assert.False(p.GetProperty("correct").GetBoolean()));
        Assert.All(predictions, p => Assert.Equal(System.Text.Json.JsonValueKind.Number, p.GetProperty("rouge_l").ValueKind));
    }
}
