using System.Text.Json;

namespace Remix.Data.Formats;

/// <summary>
/// UltraChat: JSON Lines of <c>{id, data: [user, assistant, user, ...]}</c>, turns alternating from the
/// user; a trailing user turn without an answer is dropped.
/// </summary>
internal sealed class UltraChatFormat : IDatasetFormat
{
    public string Name => "ultrachat";
    public string Description => "UltraChat: JSONL {id, data: [user, assistant, ...]}; every assistant turn is trained on";

    public bool Matches(FileProbe p) => p.Has("id", "data") && p.RawValues.GetValueOrDefault("data", "").TrimStart().StartsWith('[');

    public IEnumerable<DatasetRow> Rows(string path, DatasetReadOptions options) => Formats.Rows.JsonLines(path, (f, line) =>
    {
        var data = f.Raw("data");
        if (data is not { ValueKind: JsonValueKind.Array } turns || turns.GetArrayLength() < 2)
            throw f.Error("data", "a list of at least two turns (user, assistant, ...)", data);
        var chat = new List<ChatTurn>();
        int i = 0;
        foreach (var t in turns.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.String) throw f.Error("data", "a list of strings", data);
            chat.Add(new ChatTurn(i++ % 2 == 0 ? ChatRole.User : ChatRole.Assistant, t.GetString()!));
        }
        if (chat.Count % 2 == 1) chat.RemoveAt(chat.Count - 1);
        var id = f.Raw("id")?.ToString() ?? line.ToString();
        return RowOutcome.Of(new Example { Id = $"ultrachat-{id}", Source = "ultrachat", Kind = ExampleKind.NonFactoid, Turns = chat });
    });
}
