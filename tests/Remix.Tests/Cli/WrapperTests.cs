using System.Diagnostics;
using Remix.Data.Bundled;
using Remix.Tests.Support;

namespace Remix.Tests.Cli;

/// <summary>The ./remix wrapper, run in a copy of a checkout with a stand-in <c>dotnet</c> that records what it is asked.</summary>
public class WrapperTests
{
    sealed class Checkout : IDisposable
    {
        readonly TempDir _dir = new();

        public Checkout()
        {
            System.IO.File.Copy(BundledPaths.Find("remix"), File("remix"));
            Write("src/Remix.Cli/Program.cs", "");
            Write("src/Remix.Cli/Remix.Cli.csproj", "");
            Write("Directory.Build.props", "");
            Write("global.json", "");
            Directory.CreateDirectory(File("src/Remix/obj/Release")); // made by the first build, as in a checkout
            // Builds "write" the dll to the -o folder; FAIL_BUILD makes one fail.
            Write("fake/dotnet", """
                #!/usr/bin/env bash
                echo "$1" >> "$LOG"
                if [ "$1" = build ]; then
                  [ -n "${FAIL_BUILD:-}" ] && { echo "error CS1002" >&2; exit 1; }
                  while [ $# -gt 0 ]; do [ "$1" = -o ] && mkdir -p "$2" && touch "$2/Remix.Cli.dll"; shift; done
                fi
                exit 0
                """.Replace("\r", ""));
            System.IO.File.SetUnixFileMode(File("fake/dotnet"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            foreach (var f in Directory.EnumerateFiles(_dir.Path, "*", SearchOption.AllDirectories)) Age(f, 120);
            foreach (var d in Directory.EnumerateDirectories(_dir.Path, "*", SearchOption.AllDirectories)) Directory.SetLastWriteTimeUtc(d, DateTime.UtcNow.AddSeconds(-120));
        }

        public string File(string relative) => Path.Combine(_dir.Path, relative);

        public void Write(string relative, string text)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(File(relative))!);
            System.IO.File.WriteAllText(File(relative), text);
        }

        /// <summary>Dates the file <paramref name="seconds"/> back, so that comparisons do not hang on clock resolution.</summary>
        public void Age(string path, int seconds) => System.IO.File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(-seconds));

        /// <summary>Runs ./remix --help: its exit code, then the dotnet commands it ran ("build", the dll).</summary>
        public string Run(bool failBuild = false)
        {
            var log = File("dotnet.log");
            System.IO.File.WriteAllText(log, "");
            var start = new ProcessStartInfo("bash", [File("remix"), "--help"]) { RedirectStandardError = true, RedirectStandardOutput = true };
            start.Environment["PATH"] = File("fake") + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
            start.Environment["LOG"] = log;
            if (failBuild) start.Environment["FAIL_BUILD"] = "1";
            using var process = Process.Start(start)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return string.Join(" ", [process.ExitCode.ToString(), .. System.IO.File.ReadAllLines(log)]);
        }

        public void Dispose() => _dir.Dispose();
    }

    [Fact]
    public void Wrapper_BuildsOnlyWhenASourceIsNewerThanItsLastSuccessfulBuild()
    {
        if (OperatingSystem.IsWindows()) return; // a bash script
        using var c = new Checkout();
        var dll = c.File("artifacts/cli/Remix.Cli.dll");
        Assert.Equal($"0 build {dll}", c.Run()); // nothing built yet
        Assert.Equal($"0 {dll}", c.Run());       // nothing changed
        c.Age(c.File("artifacts/cli/.built"), 60); // as if the build were a minute old...

        c.Write("src/Remix/obj/Release/x.cache", ""); // ...build outputs under src/ are not sources
        Assert.Equal($"0 {dll}", c.Run());

        c.Age(c.File("src/Remix.Cli/Program.cs"), 10); // a source saved after that build
        Assert.Equal($"0 build {dll}", c.Run());
        Assert.Equal($"0 {dll}", c.Run());

        c.Age(c.File("artifacts/cli/.built"), 60);
        c.Age(c.File("Directory.Build.props"), 10);
        Assert.Equal("1 build", c.Run(failBuild: true)); // a failed build runs no old dll...
        Assert.Equal("1 build", c.Run(failBuild: true)); // ...and does not count as built
        Assert.Equal($"0 build {dll}", c.Run());
    }

    [Fact]
    public void Wrapper_BuildsAgainAfterANewCommit_SoThatTheBuildRecordsTheCommitItIs()
    {
        if (OperatingSystem.IsWindows()) return;
        using var c = new Checkout();
        void Git(params string[] args)
        {
            var start = new ProcessStartInfo("git", ["-C", c.File(""), "-c", "user.name=t", "-c", "user.email=t@t", .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var git = Process.Start(start)!;
            git.StandardOutput.ReadToEnd();
            git.StandardError.ReadToEnd();
            git.WaitForExit();
            Assert.Equal(0, git.ExitCode);
        }
        Git("init", "-q");
        Git("commit", "-q", "--allow-empty", "-m", "one");
        var dll = c.File("artifacts/cli/Remix.Cli.dll");
        Assert.Equal($"0 build {dll}", c.Run());
        Assert.Equal($"0 {dll}", c.Run());
        Git("commit", "-q", "--allow-empty", "-m", "two"); // no source changed, but the commit did
        Assert.Equal($"0 build {dll}", c.Run());
        Assert.Equal($"0 {dll}", c.Run());
    }
}
