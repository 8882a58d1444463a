namespace Remix;

/// <summary>
/// Bad input from a user's file or option: the message is one line naming the file, the field or
/// line, and what was expected, ready to print as it is.
/// </summary>
public sealed class InvalidInputException : Exception
{
    /// <summary>The file (or option) the bad input came from.</summary>
    public string Origin { get; }

    public InvalidInputException(string source, string message, Exception? inner = null)
        : base($"{source}: {message}", inner) => Origin = source;
}
