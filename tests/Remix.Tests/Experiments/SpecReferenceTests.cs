using System.Text.RegularExpressions;
using Remix.Data.Bundled;
using Remix.Experiments;
using Remix.IO;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

public partial class SpecReferenceTests
{
    /// <summary>A spec with every level the parser reads (each level's keys are asked for whether present or not).</summary>
    const string EveryLevel = """
        base_model: base
        recipe: {lr: 0.01}
        stages:
          - name: A
            data: [{file: a.jsonl, format: remix}]
            mix: [{source: random, ratio: 1}]
          - name: B
            data: b.jsonl
            replay: {stage: A, fraction: 0.1}
            regularizer: {type: kl, strength: 0.1}
            lora: {rank: 2}
            recipe: {epochs: 2}
        """;

    [Fact]
    public void TheKeysTheParserReads_AreExactlyTheReferencesKeys()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("spec.yaml"), EveryLevel);
        var asked = new HashSet<string>();
        ExperimentSpec.Parse(SpecNode.Load(dir.File("spec.yaml"), asked).AsObject(), dir.Path, requireFiles: false);
        // stages[1].recipe.lr is the reference's recipe.lr: a stage's recipe takes the top-level recipe's keys.
        var read = asked.Select(k => Index().Replace(k, "[]")).Select(k => k.StartsWith("stages[].recipe.", StringComparison.Ordinal) ? k["stages[].".Length..] : k).ToHashSet();
        var documented = SpecReference.Keys.Select(k => k.Path).ToList();
        Assert.Equal(documented.Count, documented.Distinct().Count());
        Assert.Empty(read.Except(documented)); // read by the parser, missing from the reference
        Assert.Empty(documented.Except(read)); // in the reference, unknown to the parser
        Assert.All(SpecReference.Keys, k => Assert.False(string.IsNullOrWhiteSpace(k.Type) || string.IsNullOrWhiteSpace(k.Default) || string.IsNullOrWhiteSpace(k.Meaning), k.Path));
    }

    [Fact]
    public void TheReadmesSpecReference_IsWhatTheGeneratorPrints()
    {
        var readme = File.ReadAllText(BundledPaths.Find("README.md"));
        var section = Section().Match(readme);
        Assert.True(section.Success, "README.md has no <!-- spec-reference --> ... <!-- /spec-reference --> section");
        var r = Support.Cli.Run("run", "--spec-reference");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(SpecReference.Markdown(), r.Out);
        // Regenerate with: ./remix run --spec-reference, pasted between the markers.
        Assert.Equal(SpecReference.Markdown(), section.Groups[1].Value);
    }

    [Fact]
    public void TheReferencesRecipeDefaults_AreTrainingOptionsOwn()
    {
        string Default(string path) => SpecReference.Keys.Single(k => k.Path == path).Default;
        var paper = new Remix.Training.TrainingOptions();
        Assert.Equal(("5e-5", "[0.9, 0.95]", "1e-8", "cosine", "epochs"), (Default("recipe.lr"), Default("recipe.betas"), Default("recipe.eps"), Default("recipe.schedule"), Default("recipe.stop")));
        Assert.Equal(paper.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture), Default("recipe.batch_size"));
    }

    [Fact]
    public void RunWithoutConfig_IsRefusedUnlessAskingForTheReference()
    {
        var r = Support.Cli.Run("run");
        Assert.Equal(2, r.Code);
        Assert.Equal($"remix: Option '--config' is required.{Environment.NewLine}", r.Err);
    }

    [GeneratedRegex(@"\[\d+\]")]
    private static partial Regex Index();

    [GeneratedRegex(@"<!-- spec-reference[^\n]*-->\n\n(.*?)\n<!-- /spec-reference -->", RegexOptions.Singleline)]
    private static partial Regex Section();
}
