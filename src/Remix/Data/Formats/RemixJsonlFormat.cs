using System.Text.Json;
using Remix.IO;

namespace Remix.Data.Formats;

/// <summary>
/// Remix's own JSON Lines: <c>{"id", "source", "kind", "messages": [{"role", "content"}], "answers",
/// "subject", "relation", "match"}</c> per line, or <c>{"id", "kind": "document", "text"}</c>. KVR and the bundled sets use it.
/// </summary>
internal sealed class RemixJsonlFormat : IDatasetFormat
{
    public string Name => "remix";
    public string Description => "Remix JSON Lines: messages (user/assistant turns), answers with aliases, subject, relation";

    public bool Matches(FileProbe p) => p.Has("messages") || (p.Has("kind", "text") && p.RawValues.GetValueOrDefault("kind") == "\"document\"");

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options) => Formats.Rows.JsonLines(path, (f, line) => RowOutcome.Of(Parse(f, path, line)));

    static Example Parse(JsonFields f, string path, int line)
    {
        var kindText = f.OptionalString("kind");
        var id = f.OptionalString("id") ?? Formats.Rows.LineId(path, line);
        var source = f.OptionalString("source") ?? Path.GetFileName(path);
        if (kindText == "document")
            return new Example { Id = id, Source = source, Kind = ExampleKind.Document, Text = Formats.Rows.RequiredText(f, "text") };

        var messages = f.Raw("messages");
        if (messages is not { ValueKind: JsonValueKind.Array } list || list.GetArrayLength() == 0)
            throw f.Error("messages", "a non-empty list of {role, content} turns", messages);
        var turns = new List<ChatTurn>();
        int index = 0;
        foreach (var m in list.EnumerateArray())
        {
            var turn = new JsonFields(m, f.File, $"messages[{index++}]");
            var role = turn.OptionalString("role") switch
            {
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                _ => throw turn.Error("role", "\"user\" or \"assistant\"", turn.Raw("role")),
            };
            turns.Add(new ChatTurn(role, turn.OptionalString("content") ?? throw turn.Error("content", "a string", turn.Raw("content"))));
        }
        if (turns[0].Role != ChatRole.User) throw f.Error("messages", "a conversation that starts with a user turn", messages);
        if (!turns.Any(t => t.Role == ChatRole.Assistant)) throw f.Error("messages", "at least one assistant turn", messages);

        var answers = Formats.Rows.StringList(f, "answers", required: false);
        var kind = kindText switch
        {
            null => answers.Count > 0 ? ExampleKind.Factoid : ExampleKind.NonFactoid,
            "factoid" => ExampleKind.Factoid,
            "non-factoid" => ExampleKind.NonFactoid,
            "mix" => ExampleKind.Mix,
            _ => throw f.Error("kind", "factoid, non-factoid, mix or document", f.Raw("kind")),
        };
        if (kind == ExampleKind.Factoid && answers.Count == 0) answers = [turns.Last(t => t.Role == ChatRole.Assistant).Content];
        var match = f.OptionalString("match") switch
        {
            null or "exact" => AnswerMatch.Exact,
            "prediction-in-gold" => AnswerMatch.PredictionInGold,
            _ => throw f.Error("match", "\"exact\" or \"prediction-in-gold\"", f.Raw("match")),
        };
        return new Example
        {
            Id = id, Source = source, Kind = kind, Turns = turns, Answers = answers, Match = match,
            Subject = f.OptionalString("subject"), Relation = f.OptionalString("relation"),
        };
    }
}
