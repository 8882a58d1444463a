using System.Text.RegularExpressions;
using Remix.Data.Bundled;

namespace Remix.Tests;

/// <summary>
/// The library's folders form layers: each uses only those listed below it in README.md's "Layout", so that a reader
/// can learn one folder knowing only the ones beneath it, and no two folders need each other.
/// </summary>
public partial class LayeringTests
{
    /// <summary>The folders of src/Remix in README.md's Layout block, top first.</summary>
    static List<string> ReadmeOrder()
    {
        var readme = File.ReadAllText(BundledPaths.Find("README.md"));
        var layout = readme[readme.IndexOf("## Layout", StringComparison.Ordinal)..];
        layout = layout[..layout.IndexOf("\ndata/", StringComparison.Ordinal)];
        return [.. FolderName().Matches(layout).Select(m => m.Groups[1].Value).Distinct()];
    }

    /// <summary>
    /// The other top-level folders each folder's files name: through <c>using Remix.X</c> (static and aliases too) or a
    /// qualified <c>Remix.X.</c> / <c>X.</c> reference — the only ways C# lets code reach another namespace's types.
    /// </summary>
    static Dictionary<string, HashSet<string>> Uses(string source, IReadOnlyCollection<string> folders)
    {
        var uses = folders.ToDictionary(f => f, _ => new HashSet<string>());
        foreach (var folder in folders)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(source, folder), "*.cs", SearchOption.AllDirectories))
            {
                var code = Comment().Replace(File.ReadAllText(file), "");
                foreach (var other in folders.Where(o => o != folder))
                    if (Regex.IsMatch(code, $@"(?<![\w.])(Remix\.)?{other}\.[A-Z]|using (static )?(\w+ = )?Remix\.{other}\b"))
                        uses[folder].Add(other);
            }
        return uses;
    }

    [Fact]
    public void EveryFolderUsesOnlyTheFoldersBelowItInTheReadme()
    {
        var source = Path.GetDirectoryName(BundledPaths.Find("src/Remix/Remix.csproj"))!;
        var order = ReadmeOrder();
        var onDisk = Directory.GetDirectories(source).Select(d => Path.GetFileName(d)!).Where(d => d is not ("bin" or "obj")).Order().ToList();
        Assert.Equal(onDisk, order.Order().ToList()); // every folder listed, none that is gone
        var uses = Uses(source, order);
        var upward = order.SelectMany((folder, i) => uses[folder].Where(u => order.IndexOf(u) < i).Select(u => $"{folder} uses {u}")).ToList();
        Assert.Empty(upward);
    }

    [Fact]
    public void TheCheck_SeesAQualifiedReferenceAndAUsing()
    {
        var root = Directory.CreateTempSubdirectory("remix-layers-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "Low"));
            Directory.CreateDirectory(Path.Combine(root, "High"));
            Directory.CreateDirectory(Path.Combine(root, "Other"));
            File.WriteAllText(Path.Combine(root, "Low", "A.cs"), "namespace Remix.Low;\n// High.Thing in a comment does not count\nclass A { object b = High.Thing.Make(); }\n");
            File.WriteAllText(Path.Combine(root, "High", "B.cs"), "using static Remix.Low.A;\nnamespace Remix.High;\nclass B { }\n");
            File.WriteAllText(Path.Combine(root, "Other", "C.cs"), "namespace Remix.Other;\nclass C { string s = nameof(Low); }\n");
            var uses = Uses(root, ["High", "Low", "Other"]);
            Assert.Equal(["High"], uses["Low"]);
            Assert.Equal(["Low"], uses["High"]);
            Assert.Empty(uses["Other"]);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [GeneratedRegex(@"(?<![/\w.])([A-Z][A-Za-z]+)/")]
    private static partial Regex FolderName();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();
}
