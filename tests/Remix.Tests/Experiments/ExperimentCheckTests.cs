using Remix.Data;
using Remix.Experiments;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

/// <summary>
/// <c>remix run --validate</c> (and <c>remix run</c> before it trains) reads everything a run would meet: the data files
/// through their loaders, each stage's set, the base model's config, tokenizer and weight headers, and the mixing sources.
/// </summary>
public class ExperimentCheckTests
{
    /// <summary>A valid two-stage spec over the files of <see cref="Arrange"/>; each case replaces one of its lines.</summary>
    static readonly string[] Valid =
    [
        "name: t",                                                  // 1
        "base_model: base",                                         // 2
        "recipe: {lr: 0.01, epochs: 1, batch_size: 4}",             // 3
        "stages:",                                                  // 4
        "  - name: A",                                              // 5
        "    data: a.jsonl",                                        // 6
        "    limit: 4",                                             // 7
        "    mix: [{source: random, ratio: 1, file: words.txt}]",   // 8
        "  - name: B",                                              // 9
        "    data: [{file: b.jsonl}]",                              // 10
        "    mix: [{source: generic, ratio: 1, file: corpus.jsonl}]", // 11
    ];

    static string Words(int n) => string.Join(' ', Enumerable.Range(0, n).Select(i => $"w{i}"));

    /// <summary>A micro model, two sets of six facts, a word list and a corpus with one document long enough for a passage.</summary>
    static void Arrange(TempDir dir)
    {
        Assert.Equal(0, Support.Cli.Run("model", "init", "--out", dir.File("base"), "--hidden-size", "32").Code);
        ExampleJsonl.Write(dir.File("a.jsonl"), KvrGenerator.Generate(6, 1, idPrefix: "a"));
        ExampleJsonl.Write(dir.File("b.jsonl"), KvrGenerator.Generate(6, 2, idPrefix: "b"));
        File.WriteAllText(dir.File("words.txt"), "alpha\nbravo\ncharlie\n");
        File.WriteAllText(dir.File("corpus.jsonl"), $"{{\"text\": \"{Words(120)}\"}}\n{{\"text\": \"{Words(30)}\"}}\n");
    }

    /// <summary>Writes spec.yaml: <see cref="Valid"/> with the given lines (numbered from 1) replaced.</summary>
    static string WriteSpec(TempDir dir, params (int Line, string Text)[] edits)
    {
        var lines = Valid.ToList();
        foreach (var (line, text) in edits) lines[line - 1] = text;
        File.WriteAllText(dir.File("spec.yaml"), string.Join('\n', lines) + "\n");
        return dir.File("spec.yaml");
    }

    static List<string> Entries(TempDir dir) => [.. Directory.GetFileSystemEntries(dir.Path, "*", SearchOption.AllDirectories).Order()];

    [Fact]
    public void AValidSpec_Validates_SayingWhatItFoundPerStage()
    {
        using var dir = new TempDir();
        Arrange(dir);
        var r = Support.Cli.Run("run", "--config", WriteSpec(dir), "--validate");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal("", r.Err);
        var found = r.Out.Split(Environment.NewLine).Where(l => l.StartsWith("  found ", StringComparison.Ordinal)).ToList();
        Assert.StartsWith("  found base model: llama, 2 layers, hidden 32, vocab ", found[0]);
        Assert.Equal(
        [
            "  found A: 4 examples (the first of 6) from a.jsonl (remix, 6 examples)",
            "  found B: 6 examples from b.jsonl (remix, 6 examples)",
            "  found mix random: words.txt, 3 words",
            "  found mix generic: corpus.jsonl, 1 document of at least 100 words (and 1 shorter, left out)",
        ], found.Skip(1));
        Assert.EndsWith("valid" + Environment.NewLine, r.Out);
    }

    public static TheoryData<string> BadInputs() =>
    [
        "malformed row", "undetectable format", "unknown format name", "no examples after limit", "fewer examples than the limit",
        "duplicate ids", "no tokenizer.json", "no weights", "malformed config.json", "empty word list", "no 100-word document",
        "an adapter Remix cannot apply",
    ];

    /// <summary>Breaks one input of the valid arrangement; returns the one line expected after "remix: ".</summary>
    static string Break(TempDir dir, string input)
    {
        string spec = dir.File("spec.yaml");
        switch (input)
        {
            case "malformed row":
                File.AppendAllText(dir.File("a.jsonl"), "{\"messages\": [\n");
                return $"{dir.File("a.jsonl")}: line 7: malformed JSON: ";
            case "undetectable format":
                File.WriteAllText(dir.File("b.jsonl"), "{\"foo\": 1}\n");
                return $"{dir.File("b.jsonl")}: could not tell the dataset format from its fields (foo); pass --format (in a spec, data: {{file, format}}) with one of ";
            case "unknown format name":
                WriteSpec(dir, (10, "    data: [{file: b.jsonl, format: remx}]"));
                return $"{spec}:10:36: stages[1].data[0].format: unknown format \"remx\" (did you mean 'remix'?)";
            case "no examples after limit":
                WriteSpec(dir, (10, "    data: corpus.jsonl"));
                return $"{spec}:10:11: stages[1].data: no examples to memorize: corpus.jsonl holds only documents (corpus-jsonl), which only a generic mix takes";
            case "fewer examples than the limit":
                WriteSpec(dir, (7, "    limit: 10"));
                return $"{spec}:7:12: stages[0].limit: expected at most 6 (the examples a.jsonl holds), found 10";
            case "duplicate ids":
                WriteSpec(dir, (10, "    data: [b.jsonl, {file: b.jsonl}]"));
                return $"{spec}:10:11: stages[1].data: example id \"b-0\" appears 2 times in the set (ids must differ within a stage)";
            case "no tokenizer.json":
                File.Delete(Path.Combine(dir.File("base"), "tokenizer.json"));
                return $"{Path.Combine(dir.File("base"), "tokenizer.json")}: file not found (a Hugging Face tokenizer.json is needed)";
            case "no weights":
                File.Delete(Path.Combine(dir.File("base"), "model.safetensors"));
                return $"{dir.File("base")}: no model.safetensors or model.safetensors.index.json found";
            case "malformed config.json":
                File.WriteAllText(Path.Combine(dir.File("base"), "config.json"), "{\"hidden_size\": \n");
                return $"{Path.Combine(dir.File("base"), "config.json")}";
            case "empty word list":
                File.WriteAllText(dir.File("words.txt"), "\n");
                return $"{dir.File("words.txt")}: expected a word list with at least two words, found 0";
            case "no 100-word document":
                File.WriteAllText(dir.File("corpus.jsonl"), $"{{\"text\": \"{Words(99)}\"}}\n{{\"text\": \"{Words(30)}\"}}\n");
                return $"{dir.File("corpus.jsonl")}: none of its 2 documents has the 100 words a passage needs";
            case "an adapter Remix cannot apply":
                // Loading would merge it; a DoRA adapter is refused there, so the check refuses it too.
                File.WriteAllText(Path.Combine(dir.File("base"), "adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\"], \"use_dora\": true}");
                File.WriteAllText(Path.Combine(dir.File("base"), "adapter_model.safetensors"), "");
                return $"{Path.Combine(dir.File("base"), "adapter_config.json")}: ";
            default:
                throw new ArgumentException(input, nameof(input));
        }
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void ABadInput_IsRefusedInOneLineNamingItsFile_ByValidateAndByRunBeforeTraining_AndNothingIsWritten(string input)
    {
        using var dir = new TempDir();
        Arrange(dir);
        WriteSpec(dir);
        var expected = $"remix: {Break(dir, input)}";
        var before = Entries(dir);

        foreach (string[] extra in new[] { new[] { "--validate" }, ["--out", dir.File("runs")] })
        {
            var r = Support.Cli.Run(["run", "--config", dir.File("spec.yaml"), .. extra]);
            Assert.Equal(1, r.Code);
            Assert.Equal("", r.Out);
            Assert.Single(r.Err.TrimEnd().Split(Environment.NewLine));
            Assert.StartsWith(expected, r.Err);
            Assert.Equal(before, Entries(dir));
        }
    }

    [Fact]
    public void EveryProblem_IsReported_OneLineEach()
    {
        // Problems in independent inputs are all found in one pass, so a spec for a long run is mended at once.
        using var dir = new TempDir();
        Arrange(dir);
        Break(dir, "no tokenizer.json");
        Break(dir, "malformed row");
        Break(dir, "empty word list");
        var r = Support.Cli.Run("run", "--config", WriteSpec(dir), "--validate");
        Assert.Equal(1, r.Code);
        var lines = r.Err.TrimEnd().Split(Environment.NewLine);
        Assert.Equal(3, lines.Length);
        Assert.Contains("tokenizer.json: file not found", lines[0]);
        Assert.Contains("a.jsonl: line 7: malformed JSON", lines[1]);
        Assert.Contains("words.txt: expected a word list", lines[2]);
    }

    [Fact]
    public void DataObjects_ReadFilesWithTheirFormat_SkipBad_AndTemplates_AsTheRunReadsThem()
    {
        using var dir = new TempDir();
        Arrange(dir);
        // Sums whose answers lack GSM8K's "#### N": no format matches them, gsm8k reads them.
        File.WriteAllText(dir.File("sums.jsonl"), string.Concat(Enumerable.Range(1, 3).Select(i => $"{{\"question\": \"What is {i} plus {i}?\", \"answer\": \"{2 * i}\"}}\n")));
        Assert.StartsWith($"{dir.File("sums.jsonl")}: could not tell the dataset format", Assert.Throws<InvalidInputException>(() => DatasetReader.Read(dir.File("sums.jsonl"))).Message);
        File.AppendAllText(dir.File("b.jsonl"), "not json\n");
        // A relation LAMA has no template for, with its template in a file that is not where the reader looks by itself.
        File.WriteAllText(dir.File("lama.jsonl"), "{\"sub_label\": \"Ada\", \"obj_label\": \"tea\", \"predicate_id\": \"P9999\"}\n");
        Directory.CreateDirectory(dir.File("templates"));
        File.WriteAllText(Path.Combine(dir.File("templates"), "mine.jsonl"), "{\"relation\": \"P9999\", \"template\": \"[X] likes [Y] .\"}\n");
        var path = WriteSpec(dir, (10, "    data: [{file: sums.jsonl, format: gsm8k}, {file: b.jsonl, skip_bad: true}, {file: lama.jsonl, templates: templates/mine.jsonl}]"));

        var r = Support.Cli.Run("run", "--config", path, "--validate");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("  found B: 10 examples from sums.jsonl (gsm8k, 3 examples), b.jsonl (remix, 6 examples; skipped 1 malformed), lama.jsonl (lama-trex, 1 example)" + Environment.NewLine, r.Out);
        var stage = ExperimentSpec.Load(path).Stages[1];
        Assert.Equal(new DataSpec(dir.File("sums.jsonl"), "gsm8k"), stage.Data[0]);
        Assert.Equal(new DataSpec(dir.File("b.jsonl"), SkipBad: true), stage.Data[1]);
        Assert.Equal(new DataSpec(dir.File("lama.jsonl"), Templates: Path.Combine(dir.File("templates"), "mine.jsonl")), stage.Data[2]);
        // The run's own reading of the set: the stage's files, each with its options.
        var set = stage.ReadSet();
        Assert.Equal(10, set.Count);
        Assert.Equal("What is 1 plus 1?", set[0].Turns[0].Content);
        Assert.Equal("Ada likes", set[^1].Turns[0].Content);

        // Without its options the same files are refused, each at its file and line.
        WriteSpec(dir, (10, "    data: [sums.jsonl, b.jsonl, lama.jsonl]"));
        var refused = Support.Cli.Run("run", "--config", path, "--validate");
        Assert.Equal(1, refused.Code);
        var lines = refused.Err.TrimEnd().Split(Environment.NewLine);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith($"remix: {dir.File("sums.jsonl")}: could not tell the dataset format", lines[0]);
        Assert.StartsWith($"remix: {dir.File("b.jsonl")}: line 7: malformed JSON", lines[1]);
        Assert.StartsWith($"remix: {dir.File("lama.jsonl")}: line 1: field 'predicate_id': no template for relation P9999", lines[2]);
    }

    [Fact]
    public void ASpecForAnotherMachine_ChecksWhatIsHere_AndListsWhatIsNot()
    {
        using var dir = new TempDir();
        Arrange(dir);
        var path = WriteSpec(dir, (2, "base_model: checkpoints/elsewhere"), (10, "    data: [{file: b.jsonl}, gone.jsonl]"));
        var r = Support.Cli.Run("run", "--config", path, "--validate");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("  found A: 4 examples (the first of 6) from a.jsonl (remix, 6 examples)", r.Out);
        Assert.DoesNotContain("found B:", r.Out); // a set is judged only whole
        Assert.DoesNotContain("found base model", r.Out);
        Assert.Contains("  not on this machine: checkpoints/elsewhere", r.Out);
        Assert.Contains("  not on this machine: gone.jsonl", r.Out);
        // What is here is still read: a malformed row in a.jsonl is refused although the model is elsewhere.
        Break(dir, "malformed row");
        Assert.StartsWith($"remix: {dir.File("a.jsonl")}: line 7: malformed JSON", Support.Cli.Run("run", "--config", path, "--validate").Err);
    }
}
