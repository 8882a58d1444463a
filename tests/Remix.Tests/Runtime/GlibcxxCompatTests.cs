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
}
