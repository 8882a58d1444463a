using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Remix.Runtime;

/// <summary>
/// Lets TorchSharp 0.107.0 load on systems whose libstdc++ predates GCC 13 (Debian 12).
/// </summary>
/// <remarks>
/// libLibTorchSharp.so declares a need for GLIBCXX_3.4.32 only for the marker symbol
/// <c>std::ios_base_library_init()</c>, which is never called. Where the process's libstdc++ lacks
/// that version, the need is marked weak (VER_FLG_WEAK in <c>.gnu.version_r</c>) in the copy next
/// to the application, so the dynamic loader accepts it. A libstdc++ that has the version is left
/// untouched, as is every file on non-Linux systems.
/// </remarks>
public static class GlibcxxCompat
{
    /// <summary>The symbol version TorchSharp's native library needs but never uses.</summary>
    public const string MarkerVersion = "GLIBCXX_3.4.32";

    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlagWeak = 0x2;

    static int _done;

    /// <summary>Runs <see cref="EnsureTorchSharpLoadable"/> when the Remix assembly is first used.</summary>
#pragma warning disable CA2255 // a library initializer is the one hook that runs before TorchSharp in every host
    [ModuleInitializer]
    internal static void OnModuleLoad() => EnsureTorchSharpLoadable();
#pragma warning restore CA2255

    /// <summary>
    /// Patches the application's copy of libLibTorchSharp.so if, and only if, the libstdc++ of
    /// this process lacks <see cref="MarkerVersion"/>. Safe to call many times; returns the
    /// number of version needs it marked weak.
    /// </summary>
    public static int EnsureTorchSharpLoadable()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref _done, 1) == 1) return 0;
        try
        {
            var libstdcxx = FindProcessLibStdCxx();
            if (libstdcxx is null || LibraryDefinesVersion(libstdcxx, MarkerVersion)) return 0;
            int patched = 0;
            foreach (var candidate in TorchSharpNativeCandidates(AppContext.BaseDirectory))
                if (File.Exists(candidate)) patched += MarkVersionNeedWeak(candidate, MarkerVersion);
            return patched;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only install cannot be patched; TorchSharp then reports its own load error.
            Console.Error.WriteLine($"remix: could not adapt libLibTorchSharp.so to this libstdc++: {e.Message}");
            return 0;
        }
    }

    /// <summary>The places a .NET application keeps its copy of libLibTorchSharp.so.</summary>
    public static IEnumerable<string> TorchSharpNativeCandidates(string appDirectory)
    {
        yield return Path.Combine(appDirectory, "libLibTorchSharp.so");
        yield return Path.Combine(appDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    /// <summary>The libstdc++ mapped into this process, else the first one the loader would find.</summary>
    public static string? FindProcessLibStdCxx()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash >= 0 && line.Contains("libstdc++.so")) return line[slash..].Trim();
            }
        }
        catch (IOException) { }
        foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/lib64" })
        {
            var path = Path.Combine(dir, "libstdc++.so.6");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>True if the shared library's bytes contain the version name as a C string.</summary>
    public static bool LibraryDefinesVersion(string libraryPath, string version)
    {
        var needle = Encoding.ASCII.GetBytes("\0" + version + "\0");
        return File.ReadAllBytes(libraryPath).AsSpan().IndexOf(needle) >= 0;
    }

    /// <summary>
    /// Marks every need of <paramref name="version"/> in an ELF64 little-endian file weak, writing
    /// through a temporary file and a rename. Returns how many entries changed (0 if none needed it).
    /// </summary>
    public static int MarkVersionNeedWeak(string path, string version)
    {
        var bytes = File.ReadAllBytes(path);
        int patched = MarkVersionNeedWeak(bytes, version);
        if (patched == 0) return 0;
        var tmp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
        return patched;
    }

    /// <summary>The in-memory form of <see cref="MarkVersionNeedWeak(string, string)"/>.</summary>
    public static int MarkVersionNeedWeak(byte[] elf, string version)
    {
        var s = elf.AsSpan();
        bool isElf64Le = elf.Length >= 64 && elf[0] == 0x7f && elf[1] == (byte)'E' && elf[2] == (byte)'L'
            && elf[3] == (byte)'F' && elf[4] == 2 && elf[5] == 1;
        if (!isElf64Le) return 0;
        long sectionTable = BinaryPrimitives.ReadInt64LittleEndian(s[0x28..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(s[0x3A..]);
        int sections = BinaryPrimitives.ReadUInt16LittleEndian(s[0x3C..]);
        int patched = 0;
        for (int i = 0; i < sections; i++)
        {
            int header = checked((int)(sectionTable + (long)i * entrySize));
            if (BinaryPrimitives.ReadUInt32LittleEndian(s[(header + 4)..]) != ShtGnuVerneed) continue;
            long offset = BinaryPrimitives.ReadInt64LittleEndian(s[(header + 24)..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[(header + 40)..]);
            long strings = BinaryPrimitives.ReadInt64LittleEndian(s[checked((int)(sectionTable + (long)link * entrySize + 24))..]);

            int need = checked((int)offset);
            while (true)
            {
                int count = BinaryPrimitives.ReadUInt16LittleEndian(s[(need + 2)..]);
                uint auxOffset = BinaryPrimitives.ReadUInt32LittleEndian(s[(need + 8)..]);
                uint nextNeed = BinaryPrimitives.ReadUInt32LittleEndian(s[(need + 12)..]);
                int aux = need + (int)auxOffset;
                for (int k = 0; k < count; k++)
                {
                    ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(s[(aux + 4)..]);
                    uint name = BinaryPrimitives.ReadUInt32LittleEndian(s[(aux + 8)..]);
                    uint nextAux = BinaryPrimitives.ReadUInt32LittleEndian(s[(aux + 12)..]);
                    if ((flags & VerFlagWeak) == 0 && CString(elf, strings + name) == version)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(s[(aux + 4)..], (ushort)(flags | VerFlagWeak));
                        patched++;
                    }
                    if (nextAux == 0) break;
                    aux += (int)nextAux;
                }
                if (nextNeed == 0) break;
                need += (int)nextNeed;
            }
        }
        return patched;
    }

    static string CString(byte[] data, long start)
    {
        int begin = checked((int)start), end = begin;
        while (end < data.Length && data[end] != 0) end++;
        return Encoding.ASCII.GetString(data, begin, end - begin);
    }
}
