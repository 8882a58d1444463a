using Remix.Data.Batching;
using Remix.Evaluation;
using Remix.Models;
using Remix.Tokenization;

namespace Remix.Data;

/// <summary>The facts a model already answers correctly (known) and the rest (unknown, "yet to learn"), with its predictions.</summary>
public sealed record KnownSplit(IReadOnlyList<Example> Known, IReadOnlyList<Example> Unknown, IReadOnlyDictionary<string, string> Predictions);

/// <summary>
/// "Yet to learn" filtering: asks the model every question greedily (chat template, stop at EOS) and
/// keeps apart the facts it already answers by the paper's rule.
/// </summary>
public static class KnownFactFilter
{
    /// <summary>
    /// Generates up to <paramref name="maxNewTokens"/> tokens per question, or by default the longest
    /// gold answer of the batch plus <paramref name="extraTokens"/>.
    /// </summary>
    public static KnownSplit Split(LoadedModel loaded, IReadOnlyList<Example> facts, ChatTemplate? template = null, int batchSize = 32,
        int extraTokens = 8, int? maxNewTokens = null)
    {
        var encoder = new ExampleEncoder(loaded.Tokenizer, template);
        var generator = new GreedyGenerator(loaded.Model);
        var known = new List<Example>();
        var unknown = new List<Example>();
        var predictions = new Dictionary<string, string>();
        foreach (var chunk in facts.Chunk(batchSize))
        {
            int longest = chunk.Max(f => f.Answers.Count == 0 ? 16 : f.Answers.Max(a => loaded.Tokenizer.Encode(a, addSpecialTokens: false).Length));
            var prompts = chunk.Select(f => encoder.EncodePrompt(f.Question)).ToList();
            var outputs = generator.Generate(prompts, maxNewTokens ?? longest + extraTokens, loaded.StopTokenIds);
            for (int i = 0; i < chunk.Length; i++)
            {
                var prediction = loaded.Tokenizer.Decode(outputs[i].Content);
                predictions[chunk[i].Id] = prediction;
                (AnswerMatcher.IsCorrect(prediction, chunk[i]) ? known : unknown).Add(chunk[i]);
            }
        }
        return new KnownSplit(known, unknown, predictions);
    }
}
