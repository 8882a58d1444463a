using System.Formats.Tar;
using System.IO.Compression;
using Remix.Experiments;
using Remix.Reporting;
using Remix.Tests.Support;

namespace Remix.Tests.Experiments;

public class GridExportTests
{
    static List<string> Names(string archive)
    {
        using var file = File.OpenRead(archive);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        var names = new List<string>();
        while (tar.GetNextEntry() is { } entry) names.Add(entry.Name);
        return names;
    }

    static string Values(ResultsRow row) => $"{row.Entry} {row.Seed} {string.Join(",", row.Axes)} {row.AfterStage} {row.Set} {row.Metric} {row.Value:R}";

    [Fact]
    public void Export_HoldsTheFinishedEntriesWithoutWeights_AndUnpackedIsAPlanFolderThatReportsTheSame_AndResumesTheRest()
    {
        var (dir, plan, ids) = GridRunTests.Planned();
        using var _ = dir;
        Assert.Equal(0, Support.Cli.Run("grid", "run", plan, "--index", "0").Code);
        var archive = dir.File("record.tar.gz");

        var r = Support.Cli.Run("grid", "export", plan, "--out", archive);

        Assert.True(r.Code == 0, r.Err);
        Assert.Contains($"{archive}: 1 of 2 entries (the finished ones)", r.Out);
        Assert.Contains("the 1 others are not in it", r.Out);
        var names = Names(archive);
        Assert.Contains("plan/runs.jsonl", names);
        Assert.Contains("plan/plan.json", names);
        Assert.Contains($"plan/runs/{ids[0]}/results.json", names);
        Assert.Contains($"plan/runs/{ids[0]}/DONE", names);
        Assert.Contains($"plan/runs/{ids[0]}/stage-2-B/metrics.jsonl", names);
        Assert.DoesNotContain(names, n => n.Contains(ids[1]) || n.Contains("shared-stages") || n.Contains("/final/") || n.EndsWith(".safetensors") || n.EndsWith(".png"));
        // The weights were there to leave out.
        Assert.True(File.Exists(Path.Combine(plan, "runs", ids[0], "stage-2-B", "final", "model.safetensors")));

        // Unpacked beside the original (so that its entries' relative paths to the base model and data still hold).
        var elsewhere = dir.File("unpacked");
        Directory.CreateDirectory(elsewhere);
        TarFile.ExtractToDirectory(new GZipStream(File.OpenRead(archive), CompressionMode.Decompress), elsewhere, overwriteFiles: false);
        var copy = Path.Combine(elsewhere, "plan");

        Assert.Equal(GridStatus.Read(plan).Select(e => (e.Id, e.State)), GridStatus.Read(copy).Select(e => (e.Id, e.State)));
        var original = GridReport.Build(plan, dir.File("report-original"));
        var unpacked = GridReport.Build(copy, dir.File("report-unpacked"));
        // The same report but for the folder it names.
        Assert.Equal(original.Markdown, unpacked.Markdown.Replace(copy, plan));
        Assert.Equal(original.Results.Rows.Select(Values), unpacked.Results.Rows.Select(Values));

        var rest = Support.Cli.Run("grid", "run", copy, "--index", "1");

        Assert.True(rest.Code == 0, rest.Err);
        Assert.All(GridStatus.Read(copy), e => Assert.Equal(EntryState.Done, e.State));
    }

    [Fact]
    public void Export_OverAnExistingFile_IsRefusedInOneLine_AndAFolderThatIsNoPlan_Too()
    {
        var (dir, plan, _) = GridRunTests.Planned();
        using var __ = dir;
        var archive = dir.File("record.tar.gz");
        File.WriteAllText(archive, "mine");

        var existing = Support.Cli.Run("grid", "export", plan, "--out", archive);
        var notPlan = Support.Cli.Run("grid", "export", dir.Path, "--out", dir.File("other.tar.gz"));
        var forced = Support.Cli.Run("grid", "export", plan, "--out", archive, "--force");

        Assert.NotEqual(0, existing.Code);
        Assert.Equal($"remix: {archive}: already exists; --force replaces it", existing.Err.Trim());
        Assert.NotEqual(0, notPlan.Code);
        Assert.Equal($"remix: {dir.Path}: not a grid plan (no runs.jsonl): plan it with remix grid plan SPEC --out {dir.Path}", notPlan.Err.Trim());
        Assert.False(File.Exists(dir.File("other.tar.gz")));
        Assert.True(forced.Code == 0, forced.Err);
        Assert.Equal(["plan/grid.yaml", "plan/plan.json", "plan/runs.jsonl"], Names(archive));
    }
}
