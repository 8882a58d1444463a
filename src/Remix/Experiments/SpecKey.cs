namespace Remix.Experiments;

/// <summary>One key a spec file may hold, as the README's reference lists it.</summary>
/// <param name="Path">Where it sits: <c>stages[].mix[].ratio</c>, <c>[]</c> standing for any item of a list.</param>
/// <param name="Type">What value it takes, in words.</param>
/// <param name="Default">What leaving it out means ("required" when it may not be left out).</param>
/// <param name="Meaning">What it does, in one sentence.</param>
public sealed record SpecKey(string Path, string Type, string Default, string Meaning);
