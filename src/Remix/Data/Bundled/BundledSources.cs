namespace Remix.Data.Bundled;

/// <summary>
/// Where the real sources of the bundled sets were unpacked: an npm install folder (node_modules) and
/// a root holding the Debian packages' files (usr/share/...), as <c>data/build.sh</c> prepares them.
/// </summary>
public sealed record BundledSources(string NodeModules, string DebianRoot)
{
    public string CountryJson(string file) => Require(Path.Combine(NodeModules, "country-json", "src", file));
    public string CountriesList => Require(Path.Combine(NodeModules, "countries-list", "countries.min.json"));
    public string PeriodicTable => Require(Path.Combine(NodeModules, "@exabyte-io", "periodic-table.js", "periodic-table.json"));
    public string WordNetData(string pos) => Require(Path.Combine(DebianRoot, "usr", "share", "wordnet", $"data.{pos}"));
    public string AmericanEnglish => Require(Path.Combine(DebianRoot, "usr", "share", "dict", "american-english"));
    public string ProperNames => Require(Path.Combine(DebianRoot, "usr", "share", "dict", "propernames.gz"));

    static string Require(string path) =>
        File.Exists(path) ? path : throw new InvalidInputException(path, "source file not found (run data/build.sh, which installs the sources)");
}
