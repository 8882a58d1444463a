namespace Remix.Data;

/// <summary>
/// One training or evaluation example: chat turns (user, assistant, ...) plus what is known about
/// it. For a factoid, <see cref="Answers"/> holds the gold answer first and then its aliases, and
/// the last assistant turn is the training target. A generic-corpus document has no turns, only <see cref="Text"/>.
/// </summary>
public sealed record Example
{
    public required string Id { get; init; }
    /// <summary>The dataset it came from (format name plus file, or a mixing source).</summary>
    public required string Source { get; init; }
    public ExampleKind Kind { get; init; } = ExampleKind.Factoid;
    public IReadOnlyList<ChatTurn> Turns { get; init; } = [];
    /// <summary>Gold answers: the canonical one first, then aliases. Empty for non-factoids.</summary>
    public IReadOnlyList<string> Answers { get; init; } = [];
    public AnswerMatch Match { get; init; } = AnswerMatch.Exact;
    public string? Subject { get; init; }
    public string? Relation { get; init; }
    /// <summary>The raw text of a <see cref="ExampleKind.Document"/>.</summary>
    public string? Text { get; init; }

    /// <summary>The first user turn (the question), or empty.</summary>
    public string Question => Turns.FirstOrDefault(t => t.Role == ChatRole.User)?.Content ?? "";

    /// <summary>The turns before the target (its last assistant turn); all turns when there is none.</summary>
    public IReadOnlyList<ChatTurn> ContextTurns
    {
        get
        {
            int target = Turns.ToList().FindLastIndex(t => t.Role == ChatRole.Assistant);
            return target < 0 ? Turns : [.. Turns.Take(target)];
        }
    }

    /// <summary>The user turn the target answers (the last one before it), or empty; for a single question, <see cref="Question"/>.</summary>
    public string TargetQuestion => ContextTurns.LastOrDefault(t => t.Role == ChatRole.User)?.Content ?? "";

    /// <summary>The last assistant turn (the training target), or empty.</summary>
    public string Target => Turns.LastOrDefault(t => t.Role == ChatRole.Assistant)?.Content ?? "";

    /// <summary>A single-turn example: question, answer (the target) and optional aliases.</summary>
    public static Example QuestionAnswer(string id, string source, string question, string answer, IEnumerable<string>? aliases = null,
        ExampleKind kind = ExampleKind.Factoid) => new()
    {
        Id = id,
        Source = source,
        Kind = kind,
        Turns = [ChatTurn.User(question), ChatTurn.Assistant(answer)],
        Answers = kind == ExampleKind.Factoid
            ? [answer, .. (aliases ?? []).Where(a => !string.IsNullOrWhiteSpace(a) && a != answer).Distinct()]
            : [],
    };
}
