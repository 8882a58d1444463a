namespace Remix.Runtime;

/// <summary>
/// TorchSharp's native library could not be loaded, for a reason Remix can name (see
/// <see cref="GlibcxxCompat.ExplainLoadFailure"/>); the message is one line meant for the user, the runtime's own
/// failure, when there was one, is kept as the inner exception.
/// </summary>
public sealed class TorchSharpLoadException(string message, Exception? inner) : Exception(message, inner);
