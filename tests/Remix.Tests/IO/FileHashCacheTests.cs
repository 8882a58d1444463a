using System.Security.Cryptography;
using System.Text;
using Remix.IO;
using Remix.Tests.Support;

namespace Remix.Tests.IO;

public class FileHashCacheTests
{
    static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void AFileOfTheSameSizeAndTime_IsNotReadAgain_EvenByTheNextProcess()
    {
        using var dir = new TempDir();
        var file = dir.File("weights.bin");
        var cachePath = dir.File("hashes.json");
        File.WriteAllText(file, "one");
        var written = DateTime.UtcNow.AddHours(-1);
        File.SetLastWriteTimeUtc(file, written);
        var cache = new FileHashCache(cachePath);
        Assert.Equal(Sha256("one"), cache.Sha256(file));
        cache.Save();

        // Other content of the same size under the same time is what an unchanged file looks like: the cached hash answers,
        // which shows the file was not read.
        File.WriteAllText(file, "two");
        File.SetLastWriteTimeUtc(file, written);
        Assert.Equal(Sha256("one"), new FileHashCache(cachePath).Sha256(file));

        File.SetLastWriteTimeUtc(file, written.AddMinutes(1));
        Assert.Equal(Sha256("two"), new FileHashCache(cachePath).Sha256(file));
        File.WriteAllText(file, "three");
        File.SetLastWriteTimeUtc(file, written);
        Assert.Equal(Sha256("three"), new FileHashCache(cachePath).Sha256(file)); // another size
    }

    [Fact]
    public void AFileHashedJustAfterItWasWritten_IsReadAgainTheNextTime()
    {
        using var dir = new TempDir();
        var file = dir.File("data.jsonl");
        File.WriteAllText(file, "one");
        var cache = new FileHashCache(null);
        Assert.Equal(Sha256("one"), cache.Sha256(file));
        // Written again within the file system's timestamp resolution: the same size and time, other content.
        var time = File.GetLastWriteTimeUtc(file);
        File.WriteAllText(file, "two");
        File.SetLastWriteTimeUtc(file, time);
        Assert.Equal(Sha256("two"), cache.Sha256(file));
    }

    [Fact]
    public void ACacheFileThatCannotBeRead_IsStartedAfresh()
    {
        using var dir = new TempDir();
        var file = dir.File("data.jsonl");
        File.WriteAllText(file, "one");
        File.WriteAllText(dir.File("hashes.json"), "{\"files\": {\"x\": 3}}");
        var cache = new FileHashCache(dir.File("hashes.json"));
        Assert.Equal(Sha256("one"), cache.Sha256(file));
        cache.Save();
        Assert.Contains(Sha256("one"), File.ReadAllText(dir.File("hashes.json")));
    }
}
