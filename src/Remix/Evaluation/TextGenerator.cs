using Remix.Checkpoints;
using Remix.Models;
using Remix.Tokenization;

namespace Remix.Evaluation;

/// <summary>Greedy text continuation for a loaded model: tokenize, decode greedily in batches, detokenize.</summary>
public sealed class TextGenerator(LoadedModel loaded, ChatTemplate? chatTemplate = null)
{
    readonly GreedyGenerator _generator = new(loaded.Model);

    /// <summary>The chat format used when <c>chat</c> is set.</summary>
    public ChatTemplate ChatTemplate { get; } = chatTemplate ?? ChatTemplate.Default;

    /// <summary>Continues each prompt (wrapped in the chat template when <paramref name="chat"/>); returns text and token ids.</summary>
    public IReadOnlyList<(string Text, GeneratedSequence Sequence)> Generate(IReadOnlyList<string> prompts, int maxNewTokens,
        bool chat = false, int batchSize = 32, bool useCache = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var encoded = prompts.Select(p => loaded.Tokenizer.Encode(chat ? ChatTemplate.Prompt(p) : p)).ToList();
        var results = new List<(string, GeneratedSequence)>(prompts.Count);
        for (int start = 0; start < encoded.Count; start += batchSize)
        {
            var chunk = encoded.GetRange(start, Math.Min(batchSize, encoded.Count - start));
            foreach (var sequence in _generator.Generate(chunk, maxNewTokens, loaded.StopTokenIds, useCache))
                results.Add((loaded.Tokenizer.Decode(sequence.Tokens), sequence));
        }
        return results;
    }
}
