namespace Remix.Data;

/// <summary>Prompt conventions of the paper's reference code.</summary>
public static class QuestionPrompts
{
    /// <summary>Appended to PopQA and TriviaQA questions.</summary>
    public const string AnswerIsSuffix = "\nThe answer is: ";

    /// <summary>The KVR question for a key.</summary>
    public static string KeyValue(string key) => $"The value of key {key} is?";
}
