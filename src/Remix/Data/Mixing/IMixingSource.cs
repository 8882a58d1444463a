namespace Remix.Data.Mixing;

/// <summary>A source of extra training examples mixed into a stage (REMIX sources and replay).</summary>
public interface IMixingSource
{
    /// <summary>A short name for logs and reports, such as <c>random</c> or <c>generic</c>.</summary>
    string Name { get; }

    /// <summary><paramref name="count"/> examples, the same ones for the same seed.</summary>
    IReadOnlyList<Example> Sample(int count, int seed);
}
