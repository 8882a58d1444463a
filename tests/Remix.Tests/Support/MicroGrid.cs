using System.Text.Json.Nodes;
using Remix.Data;

namespace Remix.Tests.Support;

/// <summary>Grids on the micro model planned in a second, for the commands that run a plan's entries on a cluster.</summary>
public static class MicroGrid
{
    /// <summary>
    /// Seeds x stage B's epochs on the micro model (two stages of 6 facts, an entry trains in a second or two), planned into
    /// <c>grids/plan</c>; returns the plan folder and the entries' ids in the order of runs.jsonl.
    /// </summary>
    public static (string Plan, string[] Ids) Plan(TempDir dir, int seeds, params int[] epochs)
    {
        Assert.Equal(0, Cli.Run("model", "init", "--out", dir.File("base"), "--hidden-size", "32").Code);
        var (a, b) = KvrGenerator.GeneratePair(6, 6, 1);
        ExampleJsonl.Write(dir.File("a.jsonl"), a);
        ExampleJsonl.Write(dir.File("b.jsonl"), b);
        return PlanGrid(dir, $$"""
            name: g
            base_model: base
            recipe: {lr: 0.01, epochs: 1, batch_size: 4}
            stages:
              - {name: A, data: a.jsonl}
              - {name: B, data: b.jsonl}
            axes:
              seeds: [{{string.Join(", ", Enumerable.Range(0, seeds))}}]
              stages[1].recipe.epochs: [{{string.Join(", ", epochs)}}]
            """);
    }

    /// <summary>One entry of 300 steps (40 facts in batches of 4 for 30 epochs), long enough to be interrupted.</summary>
    public static (string Plan, string Id) PlanLong(TempDir dir)
    {
        Assert.Equal(0, Cli.Run("model", "init", "--out", dir.File("base"), "--hidden-size", "32", "--heads", "2", "--kv-heads", "1").Code);
        ExampleJsonl.Write(dir.File("a.jsonl"), KvrGenerator.GeneratePair(40, 8, seed: 3).A);
        var (plan, ids) = PlanGrid(dir, """
            name: g
            base_model: base
            recipe: {lr: 0.001, epochs: 30, batch_size: 4, warmup_ratio: 0}
            stages:
              - {name: A, data: a.jsonl}
            axes:
              seeds: [0]
            """);
        return (plan, ids[0]);
    }

    /// <summary>The number of training steps a stage has logged so far.</summary>
    public static int LoggedSteps(string stageDir)
    {
        var path = Path.Combine(stageDir, "metrics.jsonl");
        if (!File.Exists(path)) return 0;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(stream).ReadToEnd().Split('\n').Count(l => l.Contains("\"kind\":\"train\""));
        }
        catch (IOException)
        {
            return 0; // gone this instant (a stage folder renamed into place)
        }
    }

    static (string Plan, string[] Ids) PlanGrid(TempDir dir, string yaml)
    {
        File.WriteAllText(dir.File("grid.yaml"), yaml);
        var plan = Path.Combine(dir.File("grids"), "plan");
        var r = Cli.Run("grid", "plan", dir.File("grid.yaml"), "--out", plan);
        Assert.True(r.Code == 0, r.Err);
        var ids = File.ReadAllLines(Path.Combine(plan, "runs.jsonl")).Select(l => JsonNode.Parse(l)!["id"]!.GetValue<string>()).ToArray();
        return (plan, ids);
    }
}
