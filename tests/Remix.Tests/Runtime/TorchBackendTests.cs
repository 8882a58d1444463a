using System.Diagnostics;
using System.Text.Json;
using Remix.Data.Bundled;
using Remix.Runtime;

namespace Remix.Tests.Runtime;

public class TorchBackendTests
{
    /// <summary>
    /// The package references MSBuild evaluates for Remix.csproj with <paramref name="properties"/>; evaluation only, no
    /// restore, so the CUDA packages need not be restorable here. Null with the error text when MSBuild refuses.
    /// </summary>
    static (string[]? Packages, string Output) PackageReferences(params string[] properties)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["msbuild", BundledPaths.Find("src/Remix/Remix.csproj"), "-nologo", "-getItem:PackageReference", .. properties.Select(p => $"-p:{p}")])
            start.ArgumentList.Add(arg);
        using var msbuild = Process.Start(start)!;
        var stdout = msbuild.StandardOutput.ReadToEndAsync();
        var stderr = msbuild.StandardError.ReadToEndAsync();
        Assert.True(msbuild.WaitForExit(TimeSpan.FromMinutes(1)), "dotnet msbuild did not end within a minute");
        if (msbuild.ExitCode != 0) return (null, stdout.Result + stderr.Result);
        using var items = JsonDocument.Parse(stdout.Result);
        return ([.. items.RootElement.GetProperty("Items").GetProperty("PackageReference").EnumerateArray().Select(i => i.GetProperty("Identity").GetString()!)], stdout.Result);
    }

    static string[] TorchSharp(string[]? packages) => [.. packages!.Where(p => p.StartsWith("TorchSharp", StringComparison.Ordinal)).Order()];

    [Fact]
    public void TorchBackendProperty_ChoosesTheCpuOrTheCudaPackages_CpuByDefault()
    {
        Assert.Equal(["TorchSharp-cpu"], TorchSharp(PackageReferences().Packages));
        Assert.Equal(["TorchSharp-cuda-linux"], TorchSharp(PackageReferences("TorchBackend=cuda", "RuntimeIdentifier=linux-x64").Packages));
        Assert.Equal(["TorchSharp-cuda-windows"], TorchSharp(PackageReferences("TorchBackend=cuda", "RuntimeIdentifier=win-x64").Packages));
    }

    [Fact]
    public void TorchBackendProperty_AnUnknownValueIsAnErrorNamingIt()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // The check's own target: what restore and build run first, without restoring anything.
        foreach (var arg in (string[])["msbuild", BundledPaths.Find("src/Remix/Remix.csproj"), "-nologo", "-t:RemixCheckTorchBackend", "-p:TorchBackend=rocm"])
            start.ArgumentList.Add(arg);
        using var msbuild = Process.Start(start)!;
        var output = msbuild.StandardOutput.ReadToEndAsync();
        _ = msbuild.StandardError.ReadToEndAsync();
        Assert.True(msbuild.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.NotEqual(0, msbuild.ExitCode);
        Assert.Contains("TorchBackend: expected cpu or cuda, found 'rocm'", output.Result);
    }

    [Fact]
    public void Describe_SaysTheBuiltAndTheLoadedBackend()
    {
        var described = TorchBackend.Describe();
        Assert.Contains(TorchBackend.Built, (string[])["cpu", "cuda"]);
        Assert.Equal(TorchBackend.Built, described["built"]!.GetValue<string>());
        bool available = described["cuda_available"]!.GetValue<bool>();
        Assert.Equal(available ? "cuda" : "cpu", described["loaded"]!.GetValue<string>());
        Assert.Equal(available, described["cuda_devices"]!.GetValue<int>() > 0);
        Assert.StartsWith(described["loaded"]!.GetValue<string>(), TorchBackend.Summary(described));
    }

    [Fact]
    public void Provenance_RecordsTheBackend() =>
        Assert.Equal(TorchBackend.Built, RunProvenance.Describe()["torch_backend"]!["built"]!.GetValue<string>());
}
