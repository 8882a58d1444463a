using System.Formats.Tar;
using System.IO.Compression;
using Remix.IO;

namespace Remix.Experiments;

/// <summary>What <see cref="GridRecord.Write"/> put in an archive, and what it left out.</summary>
/// <param name="Entries">The grid's entries.</param>
/// <param name="Finished">The finished entries, each of which is in the archive.</param>
/// <param name="Files">The files in the archive.</param>
/// <param name="Bytes">Their size before compression.</param>
/// <param name="LeftOutBytes">The size of what was left out of the finished entries' folders (weights, event files, images).</param>
public sealed record GridRecordSummary(int Entries, int Finished, int Files, long Bytes, long LeftOutBytes);

/// <summary>
/// A grid's results without its weights: a gzip'd tar of the plan folder's own files (the spec snapshot, plan.json, runs.jsonl)
/// and every finished entry's run folder and log, less the models (<c>final/</c>, <c>checkpoints/</c>, <c>*.safetensors</c>),
/// TensorBoard event files and PNG images, which <c>remix report</c> draws again. Unpacked where the plan folder was
/// (<c>tar xzf RECORD -C grids</c>), it is a plan folder again: <c>remix report</c> reads it as it read the original, and
/// <c>remix grid local</c> keeps its finished entries and runs the others, training their stages again (shared stages are
/// not in it). So a grid can move from a cluster to a laptop, or be kept beside the findings drawn from it, at a few
/// percent of its size.
/// </summary>
public static class GridRecord
{
    /// <summary>Folders of a run folder that hold models, left out at any depth.</summary>
    static readonly string[] LeftOutDirectories = ["final", "checkpoints", "tensorboard"];

    /// <summary>File extensions left out: weights, and images a report draws again.</summary>
    static readonly string[] LeftOutExtensions = [".safetensors", ".png"];

    /// <summary>
    /// Writes the record of the plan folder <paramref name="directory"/> to <paramref name="output"/> (a temporary name, then
    /// renamed); its paths begin with the plan folder's own name. Entries that are not finished are not in it.
    /// </summary>
    public static GridRecordSummary Write(string directory, string output)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var entries = GridStatus.Read(root);
        var finished = entries.Where(e => e.State == EntryState.Done).ToList();
        string name = Path.GetFileName(root);
        var files = new List<(string Path, string Name)>();
        foreach (var file in new[] { GridPlan.SnapshotFileName, GridPlan.PlanFileName, GridPlan.RunsFileName })
            if (File.Exists(Path.Combine(root, file))) files.Add((Path.Combine(root, file), $"{name}/{file}"));
        long leftOut = 0;
        foreach (var e in finished)
        {
            var log = GridStatus.LogPath(root, e.Index);
            if (File.Exists(log)) files.Add((log, $"{name}/{Path.GetRelativePath(root, log).Replace('\\', '/')}"));
            var runDir = GridStatus.RunDirectory(root, e.Id);
            foreach (var file in Directory.EnumerateFiles(runDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
                var inRun = Path.GetRelativePath(runDir, file).Split(Path.DirectorySeparatorChar);
                if (inRun[..^1].Any(d => LeftOutDirectories.Contains(d)) || LeftOutExtensions.Contains(Path.GetExtension(file), StringComparer.OrdinalIgnoreCase))
                    leftOut += new FileInfo(file).Length;
                else
                    files.Add((file, $"{name}/{relative}"));
            }
        }
        long bytes = 0;
        AtomicFile.Write(output, stream =>
        {
            using var gzip = new GZipStream(stream, CompressionLevel.SmallestSize, leaveOpen: true);
            using var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
            foreach (var (path, entryName) in files)
            {
                tar.WriteEntry(path, entryName);
                bytes += new FileInfo(path).Length;
            }
        });
        return new GridRecordSummary(entries.Count, finished.Count, files.Count, bytes, leftOut);
    }
}
