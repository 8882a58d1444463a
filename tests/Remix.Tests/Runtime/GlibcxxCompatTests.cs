using Remix.Runtime;
using Remix.Tests.Support;

namespace Remix.Tests.Runtime;

public class GlibcxxCompatTests
{
    static string? TorchSharpNative() =>
        GlibcxxCompat.TorchSharpNativeCandidates(AppContext.BaseDirectory).FirstOrDefault(File.Exists);

    [Fact]
    public void MarkVersionNeedWeak_IsIdempotent_AndChangesOnlyFlagBits()
    {
        var native = TorchSharpNative();
        if (native is null || !OperatingSystem.IsLinux()) return; // only Linux builds carry the ELF library
        var original = File.ReadAllBytes(native);
        var copy = (byte[])original.Clone();
        // The copy next to the tests may already be patched; the second pass must then find nothing to do.
        int first = GlibcxxCompat.MarkVersionNeedWeak(copy, GlibcxxCompat.MarkerVersion);
        int second = GlibcxxCompat.MarkVersionNeedWeak(copy, GlibcxxCompat.MarkerVersion);
        Assert.Equal(0, second);
        int changed = original.Zip(copy).Count(p => p.First != p.Second);
        Assert.True(changed <= first * 2, $"{changed} bytes changed for {first} version needs");
    }

    [Fact]
    public void MarkVersionNeedWeak_LeavesOtherVersionsAndNonElfAlone()
    {
        var native = TorchSharpNative();
        if (native is not null)
        {
            var copy = File.ReadAllBytes(native);
            Assert.Equal(0, GlibcxxCompat.MarkVersionNeedWeak(copy, "GLIBCXX_9.9.99"));
        }
        Assert.Equal(0, GlibcxxCompat.MarkVersionNeedWeak("not an ELF file at all, just text."u8.ToArray(), GlibcxxCompat.MarkerVersion));
    }

    [Fact]
    public void LibraryDefinesVersion_FindsTheVersionNameAsACString()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("new.so"), [1, 2, 0, .. "GLIBCXX_3.4.32"u8.ToArray(), 0, 5]);
        File.WriteAllBytes(dir.File("old.so"), [1, 2, 0, .. "GLIBCXX_3.4.30"u8.ToArray(), 0, .. "GLIBCXX_3.4.320"u8.ToArray(), 0]);
        Assert.True(GlibcxxCompat.LibraryDefinesVersion(dir.File("new.so"), GlibcxxCompat.MarkerVersion));
        Assert.False(GlibcxxCompat.LibraryDefinesVersion(dir.File("old.so"), GlibcxxCompat.MarkerVersion));
    }

    [Fact]
    public void AfterTheModuleInitializer_TorchSharpLoads()
    {
        using var t = TorchSharp.torch.ones(2);
        Assert.Equal(2f, t.sum().item<float>());
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("", null, false)]
    [InlineData("0", null, false)]
    [InlineData("false", null, false)]
    [InlineData(" FALSE ", null, false)]
    [InlineData("1", null, true)]
    [InlineData("yes", null, true)]
    [InlineData(null, true, true)]
    [InlineData(null, false, false)]
    [InlineData("0", true, true)]
    [InlineData("1", false, true)]
    public void IsDisabled_EitherTheVariableOrTheAppContextSwitchTurnsTheFixOff(string? variable, bool? appContextSwitch, bool disabled) =>
        Assert.Equal(disabled, GlibcxxCompat.IsDisabled(variable, appContextSwitch));

    [Fact]
    public void PatchedMessage_SaysWhatChangedWhyAndHowToLeaveItAlone()
    {
        var message = GlibcxxCompat.PatchedMessage("app/libLibTorchSharp.so", "3.4.30");
        Assert.Equal("remix: marked app/libLibTorchSharp.so's need for GLIBCXX_3.4.32 weak (this system's libstdc++ stops at 3.4.30); "
            + "set REMIX_NO_GLIBCXX_FIX=1 to leave it alone", message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void DisabledMessage_NamesTheVariableTheSwitchAndTheVersions()
    {
        var message = GlibcxxCompat.DisabledMessage("3.4.30");
        Assert.Contains(GlibcxxCompat.DisableVariable, message);
        Assert.Contains(GlibcxxCompat.DisableSwitch, message);
        Assert.Contains("GLIBCXX_3.4.32", message);
        Assert.Contains("3.4.30", message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void HighestGlibcxxVersion_TakesTheLargestWholeVersionName()
    {
        byte[] library = [0, .. "GLIBCXX_3.4.9"u8.ToArray(), 0, .. "GLIBCXX_3.4.30"u8.ToArray(), 0, .. "GLIBCXX_3.4.29"u8.ToArray(), 0,
            .. "GLIBCXX_3.4.31x"u8.ToArray(), 0, .. "CXXABI_1.3.99"u8.ToArray(), 0];
        Assert.Equal("3.4.30", GlibcxxCompat.HighestGlibcxxVersion(library));
        Assert.Null(GlibcxxCompat.HighestGlibcxxVersion("no versions here"u8));
    }

    [Fact]
    public void ExplainLoadFailure_LeavesOtherFailuresAlone()
    {
        Assert.Null(GlibcxxCompat.ExplainLoadFailure(new IOException("disk full")));
        Assert.Null(GlibcxxCompat.ExplainLoadFailure(new InvalidOperationException("wrong state")));
    }

    [Fact]
    public void SetVersionNeedWeak_ClearingUndoesMarking()
    {
        var native = TorchSharpNative();
        if (native is null || !OperatingSystem.IsLinux()) return;
        var weak = File.ReadAllBytes(native);
        GlibcxxCompat.MarkVersionNeedWeak(weak, GlibcxxCompat.MarkerVersion);
        var strong = (byte[])weak.Clone();
        Assert.True(GlibcxxCompat.SetVersionNeedWeak(strong, GlibcxxCompat.MarkerVersion, weak: false) > 0);
        Assert.True(GlibcxxCompat.MarkVersionNeedWeak(strong, GlibcxxCompat.MarkerVersion) > 0);
        Assert.Equal(weak, strong);
    }

    /// <summary>
    /// The CLI run from a copy of the build whose libLibTorchSharp.so is as the package ships it: with the fix off it
    /// fails with one line naming the switch; with it on it patches the copy and says so once, and not on the next start.
    /// </summary>
    [SkippableFact]
    public void OnASystemThatNeedsTheFix_TheSwitchFailsInOneLine_AndThePatchIsSaidOnce()
    {
        var native = TorchSharpNative();
        var libstdcxx = GlibcxxCompat.FindProcessLibStdCxx();
        Skip.If(!OperatingSystem.IsLinux() || native is null || libstdcxx is null || GlibcxxCompat.LibraryDefinesVersion(libstdcxx, GlibcxxCompat.MarkerVersion),
            "this system's libstdc++ has GLIBCXX_3.4.32: the fix is never needed here");
        using var app = new TempDir();
        // Small files are copied, so that the application's directory is the copy; libtorch's large files are linked.
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory))
        {
            var target = Path.Combine(app.Path, Path.GetFileName(file));
            if (Path.GetFileName(file) == "libLibTorchSharp.so") continue;
            if (new FileInfo(file).Length > (1 << 20)) File.CreateSymbolicLink(target, file);
            else File.Copy(file, target);
        }
        var shipped = File.ReadAllBytes(native);
        GlibcxxCompat.SetVersionNeedWeak(shipped, GlibcxxCompat.MarkerVersion, weak: false);
        File.WriteAllBytes(Path.Combine(app.Path, "libLibTorchSharp.so"), shipped);
        // TorchSharp's fallback after a failed load copies libtorch out of the NuGet folder (half a gigabyte): give it none.
        var none = Path.Combine(app.Path, "no-nuget-packages");

        var (code, stdout, stderr) = Run(app.Path, new() { [GlibcxxCompat.DisableVariable] = "1", ["NUGET_PACKAGES"] = none });
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal([$"remix: {GlibcxxCompat.DisabledMessage(GlibcxxCompat.HighestGlibcxxVersion(libstdcxx))}"], Lines(stderr));

        (code, stdout, stderr) = Run(app.Path, new() { [GlibcxxCompat.DisableVariable] = null });
        Assert.Equal(0, code);
        Assert.Contains("\"torch_backend\"", stdout);
        Assert.Equal([GlibcxxCompat.PatchedMessage(Path.Combine(app.Path, "libLibTorchSharp.so"), GlibcxxCompat.HighestGlibcxxVersion(libstdcxx))], Lines(stderr));

        (code, _, stderr) = Run(app.Path, new() { [GlibcxxCompat.DisableVariable] = null });
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
    }

    static (int Code, string Out, string Err) Run(string appDirectory, Dictionary<string, string?> environment)
    {
        using var p = new CliProcess(appDirectory, environment, "info");
        return p.Wait();
    }

    static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
