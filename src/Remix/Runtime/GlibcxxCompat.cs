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
/// untouched, as is every file on non-Linux systems. It happens on its own, because it must happen
/// before TorchSharp is first touched in every host (a plain package reference included), but it says
/// on stderr when it changes the file, and <see cref="DisableVariable"/> or the AppContext switch
/// <see cref="DisableSwitch"/> turns it off; TorchSharp then fails to load and
/// <see cref="ExplainLoadFailure"/> says why.
/// </remarks>
public static class GlibcxxCompat
{
    /// <summary>The symbol version TorchSharp's native library needs but never uses.</summary>
    public const string MarkerVersion = "GLIBCXX_3.4.32";

    /// <summary>The environment variable that, set to anything but empty, <c>0</c> or <c>false</c>, leaves the file alone.</summary>
    public const string DisableVariable = "REMIX_NO_GLIBCXX_FIX";

    /// <summary>The AppContext switch (runtimeconfig.json or <c>RuntimeHostConfigurationOption</c>) that, when true, leaves the file alone.</summary>
    public const string DisableSwitch = "Remix.DisableGlibcxxFix";

    const string NativeName = "libLibTorchSharp.so";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlagWeak = 0x2;

    // The module initializer and a host's own early call (the test host's) both arrive here; the file needs
    // looking at once per process, and this flag is the one thing that remembers it was.
    static int _done;

    /// <summary>Runs <see cref="EnsureTorchSharpLoadable"/> when the Remix assembly is first used.</summary>
#pragma warning disable CA2255 // a library initializer is the one hook that runs before TorchSharp in every host
    [ModuleInitializer]
    internal static void OnModuleLoad()
    {
        try
        {
            EnsureTorchSharpLoadable();
        }
        catch (Exception e)
        {
            // Escaping a module initializer would fail every Remix type with a TypeInitializationException: say it in one line instead.
            Console.Error.WriteLine($"remix: could not check {NativeName} against this libstdc++ ({e.GetType().Name}: {e.Message}); set {DisableVariable}=1 to skip the check");
        }
    }
#pragma warning restore CA2255

    /// <summary>
    /// Patches the application's copy of libLibTorchSharp.so if, and only if, the libstdc++ of
    /// this process lacks <see cref="MarkerVersion"/> and the fix is not turned off, saying so on stderr.
    /// Safe to call many times; returns the number of version needs it marked weak.
    /// </summary>
    public static int EnsureTorchSharpLoadable()
    {
        if (!OperatingSystem.IsLinux() || IsDisabled() || Interlocked.Exchange(ref _done, 1) == 1) return 0;
        try
        {
            var libstdcxx = FindProcessLibStdCxx();
            if (libstdcxx is null || LibraryDefinesVersion(libstdcxx, MarkerVersion)) return 0;
            int patched = 0;
            foreach (var candidate in TorchSharpNativeCandidates(AppContext.BaseDirectory))
            {
                if (!File.Exists(candidate)) continue;
                int marked = MarkVersionNeedWeak(candidate, MarkerVersion);
                // Said when the file changes, not on every start: once patched there is nothing left to mark.
                if (marked > 0) Console.Error.WriteLine(PatchedMessage(candidate, HighestGlibcxxVersion(libstdcxx)));
                patched += marked;
            }
            return patched;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only install cannot be patched; loading TorchSharp then fails and ExplainLoadFailure says why.
            Console.Error.WriteLine($"remix: could not adapt {NativeName} to this libstdc++: {e.Message}");
            return 0;
        }
    }

    /// <summary>Whether this process turned the fix off, through <see cref="DisableVariable"/> or <see cref="DisableSwitch"/>.</summary>
    public static bool IsDisabled() =>
        IsDisabled(Environment.GetEnvironmentVariable(DisableVariable), AppContext.TryGetSwitch(DisableSwitch, out bool on) ? on : null);

    /// <summary>
    /// The switch read from its two sources: the variable's value (null when unset) and the AppContext switch's
    /// (null when not set). Either one saying so turns the fix off.
    /// </summary>
    public static bool IsDisabled(string? variable, bool? appContextSwitch)
    {
        var value = variable?.Trim();
        bool variableOn = !string.IsNullOrEmpty(value) && value != "0" && !value.Equals("false", StringComparison.OrdinalIgnoreCase);
        return variableOn || appContextSwitch == true;
    }

    /// <summary>The one line said on stderr when <paramref name="file"/> was changed.</summary>
    public static string PatchedMessage(string file, string? libstdcxxVersion) =>
        $"remix: marked {file}'s need for {MarkerVersion} weak (this system's libstdc++ stops at {libstdcxxVersion ?? "an older version"}); "
        + $"set {DisableVariable}=1 to leave it alone";

    /// <summary>The message for TorchSharp failing to load because the fix was turned off where it is needed.</summary>
    public static string DisabledMessage(string? libstdcxxVersion) =>
        $"TorchSharp cannot load: {NativeName} needs {MarkerVersion} and this system's libstdc++ stops at {libstdcxxVersion ?? "an older version"}, "
        + $"and the fix that marks that need weak is turned off ({DisableVariable} or the AppContext switch {DisableSwitch}); "
        + "unset it, or install a libstdc++ from GCC 13 or later";

    /// <summary>
    /// A <see cref="TorchSharpLoadException"/> with one clear message when <paramref name="failure"/> is TorchSharp's
    /// native library failing to load because this system needs the fix and it was not applied; else null.
    /// </summary>
    public static TorchSharpLoadException? ExplainLoadFailure(Exception failure)
    {
        if (!OperatingSystem.IsLinux() || !IsNativeLoadFailure(failure)) return null;
        var libstdcxx = FindProcessLibStdCxx();
        if (libstdcxx is null || LibraryDefinesVersion(libstdcxx, MarkerVersion)) return null;
        if (StrongNeed() is not { } strong) return null;
        var version = HighestGlibcxxVersion(libstdcxx);
        var message = IsDisabled() ? DisabledMessage(version)
            : $"TorchSharp cannot load: {strong} needs {MarkerVersion}, this system's libstdc++ stops at {version ?? "an older version"}, and the file could not be patched (is it read-only?)";
        return new TorchSharpLoadException(message, failure);
    }

    /// <summary>
    /// Throws a <see cref="TorchSharpLoadException"/> before TorchSharp is touched when the fix was turned off on a
    /// system that needs it, so that the user reads one line rather than TorchSharp's own load trace on stdout.
    /// Costs nothing unless the fix is off.
    /// </summary>
    public static void ThrowIfTurnedOffWhereNeeded()
    {
        if (!OperatingSystem.IsLinux() || !IsDisabled()) return;
        var libstdcxx = FindProcessLibStdCxx();
        if (libstdcxx is null || LibraryDefinesVersion(libstdcxx, MarkerVersion) || StrongNeed() is null) return;
        throw new TorchSharpLoadException(DisabledMessage(HighestGlibcxxVersion(libstdcxx)), null);
    }

    /// <summary>The application's copy of libLibTorchSharp.so that still needs <see cref="MarkerVersion"/> strongly, if any.</summary>
    static string? StrongNeed() => TorchSharpNativeCandidates(AppContext.BaseDirectory)
        .FirstOrDefault(c => File.Exists(c) && MarkVersionNeedWeak(File.ReadAllBytes(c), MarkerVersion) > 0);

    /// <summary>Whether the exception, or one inside it, is the runtime failing to load or initialize a native library.</summary>
    static bool IsNativeLoadFailure(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is DllNotFoundException or TypeInitializationException or BadImageFormatException
                || e is NotSupportedException && e.Message.Contains("libtorch", StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }

    /// <summary>The highest <c>GLIBCXX_3.4.N</c> a libstdc++ defines, as <c>3.4.N</c>, or null when it names none.</summary>
    public static string? HighestGlibcxxVersion(string libraryPath)
    {
        try { return HighestGlibcxxVersion(File.ReadAllBytes(libraryPath)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The in-memory form of <see cref="HighestGlibcxxVersion(string)"/>.</summary>
    public static string? HighestGlibcxxVersion(ReadOnlySpan<byte> library)
    {
        ReadOnlySpan<byte> prefix = "\0GLIBCXX_3.4."u8;
        int highest = -1;
        for (int at = library.IndexOf(prefix); at >= 0;)
        {
            int start = at + prefix.Length, end = start, minor = 0;
            while (end < library.Length && library[end] is >= (byte)'0' and <= (byte)'9' && end - start < 4) minor = minor * 10 + library[end++] - '0';
            if (end > start && end < library.Length && library[end] == 0) highest = Math.Max(highest, minor);
            int next = library[start..].IndexOf(prefix);
            at = next < 0 ? -1 : start + next;
        }
        return highest < 0 ? null : $"3.4.{highest}";
    }

    /// <summary>The places a .NET application keeps its copy of libLibTorchSharp.so.</summary>
    public static IEnumerable<string> TorchSharpNativeCandidates(string appDirectory)
    {
        yield return Path.Combine(appDirectory, NativeName);
        yield return Path.Combine(appDirectory, "runtimes", "linux-x64", "native", NativeName);
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
    public static int MarkVersionNeedWeak(byte[] elf, string version) => SetVersionNeedWeak(elf, version, weak: true);

    /// <summary>
    /// Sets or clears VER_FLG_WEAK on every need of <paramref name="version"/>; returns how many entries changed.
    /// Clearing it gives the tests an unpatched copy of a library that this machine already patched.
    /// </summary>
    internal static int SetVersionNeedWeak(byte[] elf, string version, bool weak)
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
                    if (((flags & VerFlagWeak) == 0) == weak && CString(elf, strings + name) == version)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(s[(aux + 4)..], (ushort)(weak ? flags | VerFlagWeak : flags & ~VerFlagWeak));
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
