using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Remix.IO;

/// <summary>
/// SHA-256 hashes of files, kept in a small JSON file under the key (full path, size, last-write time), so that
/// a file that has not changed is not read again: an 8B model's weights are 16 GB, which take minutes to hash.
/// </summary>
/// <remarks>
/// A file written again within the file system's timestamp resolution keeps its last-write time, and one of the
/// same size would then look unchanged. So, as git does for its index, an entry is trusted only when the file was
/// last written more than <see cref="RacyWindow"/> before it was hashed; a file hashed sooner after its write is
/// hashed again the next time it is asked for. A cache file that cannot be read is started afresh: it holds
/// nothing that cannot be computed again.
/// </remarks>
internal sealed class FileHashCache
{
    /// <summary>Last-write times closer than this to the moment of hashing are not trusted (FAT's resolution is 2 s).</summary>
    public static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);

    sealed record Entry(long Size, long WriteTicks, long HashedTicks, string Sha256);

    readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    bool _changed;

    /// <summary>A cache kept in <paramref name="path"/> (read now if it exists), or in memory only when null.</summary>
    public FileHashCache(string? path)
    {
        CacheFile = path is null ? null : Path.GetFullPath(path);
        if (CacheFile is null || !File.Exists(CacheFile)) return;
        try
        {
            foreach (var (file, node) in JsonNode.Parse(File.ReadAllText(CacheFile))!["files"]!.AsObject())
                _entries[file] = new Entry((long)node!["size"]!, (long)node["write_ticks"]!, (long)node["hashed_ticks"]!, (string)node["sha256"]!);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or IOException)
        {
            _entries.Clear();
        }
    }

    /// <summary>The full path of the cache file, or null for a cache in memory only.</summary>
    public string? CacheFile { get; }

    /// <summary>Called before a file of at least <see cref="AnnounceBytes"/> is read to be hashed, with its path and size.</summary>
    public Action<string, long>? BeforeHashing { get; init; }

    /// <summary>The size from which <see cref="BeforeHashing"/> is called.</summary>
    public long AnnounceBytes { get; init; } = 1L << 30;

    /// <summary>The lowercase hex SHA-256 of a file's content (of its target, for a symbolic link).</summary>
    public string Sha256(string file)
    {
        var info = new FileInfo(Path.GetFullPath(file));
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
        if (!info.Exists) throw new InvalidInputException(file, "file not found");
        long writeTicks = info.LastWriteTimeUtc.Ticks;
        if (_entries.TryGetValue(info.FullName, out var e) && e.Size == info.Length && e.WriteTicks == writeTicks
            && e.HashedTicks - writeTicks > RacyWindow.Ticks)
            return e.Sha256;
        if (info.Length >= AnnounceBytes) BeforeHashing?.Invoke(info.FullName, info.Length);
        long hashedTicks = DateTime.UtcNow.Ticks;
        string hash;
        using (var stream = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        var entry = new Entry(info.Length, writeTicks, hashedTicks, hash);
        if (!_entries.TryGetValue(info.FullName, out var old) || old != entry)
        {
            _entries[info.FullName] = entry;
            _changed = true;
        }
        return hash;
    }

    /// <summary>Writes the cache file, when it has one and something was hashed since it was read.</summary>
    public void Save()
    {
        if (CacheFile is null || !_changed) return;
        var files = new JsonObject();
        foreach (var (file, e) in _entries.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            files[file] = new JsonObject
            {
                ["size"] = e.Size, ["write_ticks"] = e.WriteTicks, ["hashed_ticks"] = e.HashedTicks, ["sha256"] = e.Sha256,
            };
        AtomicFile.WriteAllText(CacheFile, new JsonObject { ["files"] = files }.ToJsonString(new JsonSerializerOptions(JsonOptions.Relaxed) { WriteIndented = true }) + "\n");
        _changed = false;
    }
}
