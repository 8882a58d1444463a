using System.Text.Json;
using Remix.IO;

namespace Remix.Training;

/// <summary>
/// Where a run stands, saved with every checkpoint: optimizer steps done, the epoch and the next
/// batch in it (the data order itself follows from the seed and the epoch), the stop rule's counter,
/// and a fingerprint of the data and recipe so that a resume cannot silently mix two runs.
/// </summary>
public sealed record TrainerState
{
    public const string FileName = "trainer_state.json";

    public int Step { get; init; }
    public int Epoch { get; init; }
    public int BatchInEpoch { get; init; }
    public int LossStopCount { get; init; }
    public bool Finished { get; init; }
    public string? StopReason { get; init; }
    public string Fingerprint { get; init; } = "";
    public long TokensSeen { get; init; }

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Options));

    public static TrainerState Load(string path)
    {
        using var document = JsonFields.ParseFile(path);
        try { return document.RootElement.Deserialize<TrainerState>(Options)!; }
        catch (JsonException e) { throw new InvalidInputException(path, $"malformed trainer state: {e.Message.Split('\n')[0]}"); }
    }
}
