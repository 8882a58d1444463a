using Remix.Data.Bundled;
using Remix.Tests.Support;

namespace Remix.Tests.Data;

public class BundledPathsTests
{
    /// <summary>A checkout-like tree: checkout/models/tiny/config.json and checkout/data/facts/a.jsonl, with a folder deep inside it to start from.</summary>
    static (string Checkout, string Deep) Tree(TempDir dir)
    {
        var checkout = dir.File("checkout");
        Directory.CreateDirectory(Path.Combine(checkout, "models", "tiny"));
        File.WriteAllText(Path.Combine(checkout, "models", "tiny", "config.json"), "{}");
        Directory.CreateDirectory(Path.Combine(checkout, "data", "facts"));
        File.WriteAllText(Path.Combine(checkout, "data", "facts", "a.jsonl"), "");
        var deep = Path.Combine(checkout, "runs", "x", "y");
        Directory.CreateDirectory(deep);
        return (checkout, deep);
    }

    [Fact]
    public void Resolve_ARelativeBundledPathMissingHere_IsFoundAboveTheStartFolder()
    {
        using var dir = new TempDir();
        var (checkout, deep) = Tree(dir);
        Assert.Equal(Path.Combine(checkout, "models", "tiny"), BundledPaths.Resolve("models/tiny", deep, [deep]));
        Assert.Equal(Path.Combine(checkout, "data", "facts", "a.jsonl"), BundledPaths.Resolve("data/facts/a.jsonl", deep, [deep]));
    }

    [Fact]
    public void Resolve_APathThatExistsWhereItIsGiven_WinsOverTheBundledOne()
    {
        using var dir = new TempDir();
        var (_, deep) = Tree(dir);
        Directory.CreateDirectory(Path.Combine(deep, "models", "tiny"));
        Assert.Equal(Path.Combine(deep, "models", "tiny"), BundledPaths.Resolve("models/tiny", deep, [deep]));
    }

    [Fact]
    public void Resolve_APathFoundNowhere_ComesBackAsGiven()
    {
        using var dir = new TempDir();
        var (_, deep) = Tree(dir);
        Assert.Equal(Path.Combine(deep, "models/other"), BundledPaths.Resolve("models/other", deep, [deep]));
        Assert.Equal("models/other", BundledPaths.Resolve("models/other", searchFrom: [deep]));
        // An absolute path is the user's own: not searched for elsewhere.
        var absolute = Path.Combine(dir.Path, "models", "tiny");
        Assert.Equal(absolute, BundledPaths.Resolve(absolute, searchFrom: [deep]));
    }

    [Fact]
    public void Resolve_ARelativePathOutsideTheBundledFolders_IsNeverLookedForElsewhere()
    {
        using var dir = new TempDir();
        var (checkout, deep) = Tree(dir);
        File.WriteAllText(Path.Combine(checkout, "facts.jsonl"), "");
        Directory.CreateDirectory(Path.Combine(checkout, "runs", "m"));
        Assert.Equal(Path.Combine(deep, "facts.jsonl"), BundledPaths.Resolve("facts.jsonl", deep, [deep]));
        Assert.Equal(Path.Combine(deep, "runs/m"), BundledPaths.Resolve("runs/m", deep, [deep]));
    }

    [Fact]
    public void Cli_ABundledModelNamedRelatively_IsFoundFromAFolderWhereItIsNot()
    {
        // The test host runs in its build output folder inside the checkout, where models/remix-tiny is not.
        Assert.False(Directory.Exists("models/remix-tiny"));
        var r = Support.Cli.Run("model", "info", "models/remix-tiny");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("layers:             4", r.Out);
        var inspect = Support.Cli.Run("data", "inspect", "data/facts/country-capital.jsonl", "--json");
        Assert.True(inspect.Code == 0, inspect.Err);
    }
}
