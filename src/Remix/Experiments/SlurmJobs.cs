using System.Globalization;
using System.Text.RegularExpressions;
using Remix.IO;

namespace Remix.Experiments;

/// <summary>
/// The jobs <c>remix grid slurm --submit</c> submitted for a plan folder, one id a line in <c>slurm/jobs</c>: their tasks
/// still queued or running hold no lock yet, so without this record they would read as pending and be submitted again.
/// </summary>
public static class SlurmJobs
{
    /// <summary>The record's file name, in the script's folder.</summary>
    public const string FileName = "jobs";

    // squeue -r's %i: one array task (JOB_TASK), or tasks not yet split off (JOB_[0-3,7%2]).
    static readonly Regex Task = new(@"^(\d+)_(\d+)$", RegexOptions.CultureInvariant);
    static readonly Regex Tasks = new(@"^(\d+)_\[([0-9,\-]+)(%\d+)?\]$", RegexOptions.CultureInvariant);

    /// <summary>The record of plan folder <paramref name="directory"/>.</summary>
    public static string PathOf(string directory) => Path.Combine(directory, SlurmArrayScript.DirectoryName, FileName);

    /// <summary>The job ids submitted for <paramref name="directory"/>, oldest first (none when nothing was).</summary>
    public static IReadOnlyList<string> Read(string directory)
    {
        var path = PathOf(directory);
        return File.Exists(path) ? File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).Distinct().ToList() : [];
    }

    /// <summary>Adds <paramref name="job"/> to the record of <paramref name="directory"/>.</summary>
    public static void Append(string directory, string job) =>
        AtomicFile.WriteAllText(PathOf(directory), string.Concat(Read(directory).Append(job).Distinct().Select(j => j + "\n")));

    /// <summary>
    /// The array indices (entries' lines) of <paramref name="jobs"/> that <c>squeue -h -r -o %i</c> printed in
    /// <paramref name="squeue"/>: queued or running still. Lines of other jobs are ignored.
    /// </summary>
    public static IReadOnlySet<int> QueuedIndices(string squeue, IReadOnlyCollection<string> jobs)
    {
        var indices = new HashSet<int>();
        foreach (var line in squeue.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Task.Match(line) is { Success: true } one && jobs.Contains(one.Groups[1].Value))
                indices.Add(int.Parse(one.Groups[2].Value, CultureInfo.InvariantCulture));
            else if (Tasks.Match(line) is { Success: true } many && jobs.Contains(many.Groups[1].Value))
                foreach (var range in many.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    var ends = range.Split('-');
                    int from = int.Parse(ends[0], CultureInfo.InvariantCulture), to = int.Parse(ends[^1], CultureInfo.InvariantCulture);
                    for (int i = from; i <= to; i++) indices.Add(i);
                }
        }
        return indices;
    }
}
