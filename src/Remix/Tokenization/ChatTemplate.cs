namespace Remix.Tokenization;

/// <summary>
/// The plain-text chat format of the paper's reference code:
/// <c>&lt;|user|&gt;\n{question}\n&lt;|assistant|&gt;\n{answer}&lt;eos&gt;</c>.
/// </summary>
public sealed record ChatTemplate(string UserPrefix = "<|user|>\n", string AssistantPrefix = "\n<|assistant|>\n")
{
    public static readonly ChatTemplate Default = new();

    /// <summary>The prompt the model completes: user turn plus the assistant header.</summary>
    public string Prompt(string question) => UserPrefix + question + AssistantPrefix;
}
