using System.Text.Json.Nodes;
using Remix.IO;

namespace Remix.Experiments;

/// <summary>One line of a plan folder's <c>runs.jsonl</c> as it is written, its spec not yet read by the spec parser.</summary>
/// <param name="Index">The entry's index, from 0: the task of a job array that runs it.</param>
/// <param name="Id">The entry's id (a folder name), the name of its folder under <c>runs/</c>.</param>
/// <param name="Seed">The entry's one seed.</param>
/// <param name="Axes">The name and value of the entry's value on each axis, by path, in the grid's order.</param>
/// <param name="Spec">The entry's resolved experiment, with its errors placed at its line of <c>runs.jsonl</c>.</param>
public sealed record PlannedLine(int Index, string Id, int Seed, IReadOnlyList<(string Path, string Name, JsonNode? Value)> Axes, SpecObject Spec);
