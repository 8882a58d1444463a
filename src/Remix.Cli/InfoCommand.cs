using System.CommandLine;
using System.Text.Json;
using Remix.Runtime;

namespace Remix.Cli;

/// <summary><c>remix info</c>: the Remix build and this machine as a run's provenance.json records them.</summary>
public static class InfoCommand
{
    public static Command Build()
    {
        var command = new Command("info", "Print the Remix build and this machine (versions, git commit, CPU, the SIMD instructions .NET uses, threads) as provenance.json records them");
        command.SetAction(parse =>
        {
            var options = new JsonSerializerOptions(IO.JsonOptions.Relaxed) { WriteIndented = true };
            parse.InvocationConfiguration.Output.WriteLine(RunProvenance.Describe().ToJsonString(options));
            return 0;
        });
        return command;
    }
}
