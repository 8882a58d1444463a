using System.CommandLine;
using Remix.Data.Bundled;

namespace Remix.Cli;

/// <summary><c>remix data build-bundled</c>: rebuilds <c>data/</c> from the unpacked sources (see <c>data/build.sh</c>).</summary>
public static class BundledDataCommand
{
    public static Command Build()
    {
        var npm = new Option<string>("--node-modules") { Description = "npm install folder holding country-json, countries-list, @exabyte-io/periodic-table.js", Required = true };
        var debian = new Option<string>("--debian-root") { Description = "Folder holding the files of wordnet-base, wamerican, miscfiles (usr/share/...), e.g. /", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder (the project's data/)", Required = true };
        var command = new Command("build-bundled", "Rebuild the bundled datasets from their real sources") { npm, debian, output };
        command.SetAction(parse =>
        {
            var outputs = BundledDataBuilder.Build(new BundledSources(parse.GetValue(npm)!, parse.GetValue(debian)!), parse.GetValue(output)!);
            foreach (var o in outputs)
                parse.InvocationConfiguration.Output.WriteLine($"{o.RelativePath}\t{o.Count}\t{o.Sha256}");
            return 0;
        });
        return command;
    }
}
