using System.Text.Json.Nodes;

namespace Remix.Experiments;

/// <summary>One value of a grid axis with its short name, which names it in run ids and report columns.</summary>
/// <param name="Name">Given as <c>{name: N, value: V}</c>, or derived from the value: a number or word as written, a file name without its extension.</param>
/// <param name="Value">The value as JSON, as it is set into the base experiment.</param>
public sealed record GridValue(string Name, JsonNode? Value);
