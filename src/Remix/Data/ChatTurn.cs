namespace Remix.Data;

/// <summary>Who speaks a chat turn.</summary>
public enum ChatRole { User, Assistant }

/// <summary>One turn of a conversation.</summary>
public sealed record ChatTurn(ChatRole Role, string Content)
{
    public static ChatTurn User(string content) => new(ChatRole.User, content);
    public static ChatTurn Assistant(string content) => new(ChatRole.Assistant, content);
}
