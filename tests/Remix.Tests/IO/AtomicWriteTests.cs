using Remix.IO;
using Remix.Tests.Support;

namespace Remix.Tests.IO;

public class AtomicWriteTests
{
    // No process has this id (Linux ids stop at 2^22); this test's own process runs.
    const int Gone = int.MaxValue;
    static readonly int Running = Environment.ProcessId;

    static string Sibling(TempDir dir, string name, int pid) => dir.File($".{name}.{pid}.{Guid.NewGuid():N}.tmp");

    [Fact]
    public void WriteOnce_KeepsADirectoryThatIsThereAlready_AndLeavesNoTemporaryFolder()
    {
        using var dir = new TempDir();
        var target = dir.File("stage");

        Assert.True(AtomicDirectory.WriteOnce(target, tmp => File.WriteAllText(Path.Combine(tmp, "model"), "first")));
        // A second writer of the same key (another process that trained it at the same time) finds it there.
        Assert.False(AtomicDirectory.WriteOnce(target, tmp => File.WriteAllText(Path.Combine(tmp, "model"), "second")));

        Assert.Equal("first", File.ReadAllText(Path.Combine(target, "model")));
        Assert.Equal(["stage"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_ToAPathEndingInASeparator_ReplacesThatFolder_NotAFolderInsideIt()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("out"));
        AtomicDirectory.Write(dir.File("out") + Path.DirectorySeparatorChar, tmp => File.WriteAllText(Path.Combine(tmp, "model"), "new"));
        Assert.Equal(["model"], Directory.EnumerateFileSystemEntries(dir.File("out")).Select(Path.GetFileName));
        Assert.Equal(["out"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteOnce_WhenTheTargetAppearsWhileFilling_KeepsThatOne()
    {
        using var dir = new TempDir();
        var target = dir.File("stage");

        bool written = AtomicDirectory.WriteOnce(target, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, "model"), "late");
            AtomicDirectory.Write(target, other => File.WriteAllText(Path.Combine(other, "model"), "early"));
        });

        Assert.False(written);
        Assert.Equal("early", File.ReadAllText(Path.Combine(target, "model")));
        Assert.Equal(["stage"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void AtomicFile_RemovesTheTemporaryFilesOfKilledWriters_AndKeepsThoseOfRunningOnes()
    {
        using var dir = new TempDir();
        string abandoned = Sibling(dir, "state.json", Gone), live = Sibling(dir, "state.json", Running);
        string otherFile = dir.File($".state.json.bak.{Gone}.{Guid.NewGuid():N}.tmp"); // a sibling of "state.json.bak"
        foreach (var f in new[] { abandoned, live, otherFile }) File.WriteAllText(f, "half written");

        AtomicFile.WriteAllText(dir.File("state.json"), "complete");

        Assert.Equal("complete", File.ReadAllText(dir.File("state.json")));
        Assert.False(File.Exists(abandoned));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(otherFile));
    }

    [Fact]
    public void AtomicDirectory_RemovesTheTemporaryDirectoriesOfKilledWriters_OnceTheNewOneIsInPlace()
    {
        using var dir = new TempDir();
        string abandoned = Sibling(dir, "final", Gone), live = Sibling(dir, "final", Running);
        foreach (var d in new[] { abandoned, live })
        {
            Directory.CreateDirectory(d);
            File.WriteAllText(Path.Combine(d, "model.safetensors"), "half written");
        }

        AtomicDirectory.Write(dir.File("final"), tmp => File.WriteAllText(Path.Combine(tmp, "model.safetensors"), "complete"));

        Assert.Equal("complete", File.ReadAllText(Path.Combine(dir.File("final"), "model.safetensors")));
        Assert.False(Directory.Exists(abandoned));
        Assert.True(Directory.Exists(live));
    }
}
