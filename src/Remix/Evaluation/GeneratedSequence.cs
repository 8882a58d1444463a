namespace Remix.Evaluation;

/// <summary>The tokens generated after one prompt; <see cref="Stopped"/> when the last one is a stop token.</summary>
public sealed record GeneratedSequence(int[] Tokens, bool Stopped)
{
    /// <summary>The generated tokens without the final stop token.</summary>
    public int[] Content => Stopped ? Tokens[..^1] : Tokens;
}
