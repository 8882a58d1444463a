using System.Text.Json;
using System.Text.Json.Serialization;
using Remix.IO;

namespace Remix.Experiments;

/// <summary>
/// What one seed of an experiment found: <c>results.json</c> in its run folder, written by the runner and read by the
/// report through this one type. Matrices are indexed [after stage i][on stage j's set].
/// </summary>
/// <remarks>
/// Schema versions: 1 is this record. Files without <c>schema_version</c> were written before it existed (version 0):
/// the same names, of which older ones lack <c>scored_by</c>, <c>score_matrix</c>, the graded-score matrices and the
/// prediction paths; they read with those left null. A newer version than <see cref="CurrentSchemaVersion"/>, or a key
/// this record does not have, is refused in one line naming the file.
/// </remarks>
public sealed record ExperimentResults
{
    public const int CurrentSchemaVersion = 1;
    public const string FileName = "results.json";

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string Name { get; init; }
    public int Seed { get; init; }
    public required IReadOnlyList<string> Stages { get; init; }

    /// <summary>The score each set is judged by in <see cref="ScoreMatrix"/>: <c>accuracy</c>, or <c>rouge_l</c> for a set mostly without gold answers.</summary>
    public IReadOnlyList<string>? ScoredBy { get; init; }

    /// <summary>R[i][j]: each set by its own score; the summaries below are of R.</summary>
    public IReadOnlyList<IReadOnlyList<double?>>? ScoreMatrix { get; init; }

    public required IReadOnlyDictionary<string, double> Forgetting { get; init; }
    public IReadOnlyDictionary<string, double>? Retention { get; init; }
    public double? BackwardTransfer { get; init; }
    public double? FinalAverage { get; init; }

    /// <summary>Per stage's set, per fact id.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, FactOutcome>>? Facts { get; init; }

    /// <summary>[after stage][set]: the predictions file behind each cell, relative to the run folder.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? PredictionsAfterStage { get; init; }

    public required IReadOnlyList<IReadOnlyList<double?>> AccuracyMatrix { get; init; }
    public IReadOnlyList<IReadOnlyList<double?>>? RougeLMatrix { get; init; }
    public IReadOnlyList<IReadOnlyList<double?>>? TokenAccuracyMatrix { get; init; }
    public IReadOnlyList<IReadOnlyList<double?>>? GoldLogprobMatrix { get; init; }

    /// <summary>Joint training on every stage's data at once (the upper bound): every row is the one model's scores.</summary>
    public bool Joint { get; init; }

    static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // "stages": null must be refused here, in one line, not met as a null later on.
        RespectNullableAnnotations = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes the record (as version <see cref="CurrentSchemaVersion"/>) to a temporary file, then renames it.</summary>
    public void Write(string path) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this with { SchemaVersion = CurrentSchemaVersion }, Options));

    /// <summary>Reads a results.json of any version this code wrote; anything else is refused in one line naming the file.</summary>
    public static ExperimentResults Read(string path)
    {
        using var document = JsonFields.ParseFile(path);
        var fields = new JsonFields(document.RootElement, path);
        int version = fields.OptionalInt("schema_version", 0) ?? 0;
        if (version > CurrentSchemaVersion)
            throw new InvalidInputException(path, $"schema_version {version} is newer than this Remix reads (up to {CurrentSchemaVersion}); update Remix to read it");
        ExperimentResults results;
        try
        {
            results = document.RootElement.Deserialize<ExperimentResults>(Options)! with { SchemaVersion = version };
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"not a results file of schema version {version}: {e.Message.Split('\n')[0]}");
        }
        // Nullable annotations cover the members, not the items of their lists.
        if (results.Stages.Any(s => s is null) || results.AccuracyMatrix.Any(row => row is null))
            throw new InvalidInputException(path, "not a results file: 'stages' and the rows of 'accuracy_matrix' may not be null");
        return results;
    }
}
