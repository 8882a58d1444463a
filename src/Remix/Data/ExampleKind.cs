namespace Remix.Data;

/// <summary>What an example is for: a fact to memorize, other supervised data, a raw document, or a mixing example.</summary>
public enum ExampleKind
{
    /// <summary>A question with a short gold answer (and aliases), scored by exact match.</summary>
    Factoid,
    /// <summary>Supervised data that is not a fact (math, code, chat), scored by ROUGE-L.</summary>
    NonFactoid,
    /// <summary>Raw text from a generic corpus; turned into examples by the generic-passage mixer.</summary>
    Document,
    /// <summary>An extra example made by a REMIX mixing source (random words or generic passages).</summary>
    Mix,
}

/// <summary>How a prediction is compared with the gold answers.</summary>
public enum AnswerMatch
{
    /// <summary><c>pred.strip().lower() == gold.strip().lower()</c> for any alias.</summary>
    Exact,
    /// <summary>The prediction is a substring of a gold answer (WebQuestions).</summary>
    PredictionInGold,
}

/// <summary>The names of <see cref="ExampleKind"/> values in files and reports.</summary>
public static class ExampleKinds
{
    public static string Name(ExampleKind kind) => kind switch
    {
        ExampleKind.Factoid => "factoid",
        ExampleKind.NonFactoid => "non-factoid",
        ExampleKind.Document => "document",
        _ => "mix",
    };
}
