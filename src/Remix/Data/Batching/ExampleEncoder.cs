using Remix.Tokenization;

namespace Remix.Data.Batching;

/// <summary>
/// Turns chat examples into token ids and labels with the chat template:
/// <c>&lt;bos&gt;&lt;|user|&gt;\n{q}\n&lt;|assistant|&gt;\n{a}&lt;eos&gt;</c>, turn after turn. User turns and
/// headers get label -100; assistant content and its EOS are trained. Each piece is tokenized on
/// its own, so the prompt tokens are exactly those greedy evaluation later feeds the model.
/// </summary>
public sealed class ExampleEncoder
{
    readonly HfTokenizer _tokenizer;
    readonly int _eos;

    public ExampleEncoder(HfTokenizer tokenizer, ChatTemplate? template = null, int maxLength = 2048)
    {
        _tokenizer = tokenizer;
        Template = template ?? ChatTemplate.Default;
        MaxLength = maxLength;
        _eos = tokenizer.EosTokenId ?? throw new InvalidInputException("tokenizer_config.json", "field 'eos_token': expected an EOS token, needed to end answers");
    }

    public ChatTemplate Template { get; }
    public int MaxLength { get; }

    /// <summary>The ids greedy evaluation starts from: BOS (if the tokenizer adds one) and the prompt.</summary>
    public int[] EncodePrompt(string question) => _tokenizer.Encode(Template.Prompt(question));

    /// <summary>
    /// The ids greedy evaluation starts from to produce the example's target (its last assistant turn): every turn
    /// before it, ending in the assistant header — for a single question exactly <see cref="EncodePrompt"/>, for a
    /// conversation the earlier turns too, as in training.
    /// </summary>
    public int[] EncodeContext(Example example) =>
        example.ContextTurns is { Count: > 0 } context ? Encode(example with { Turns = context }).InputIds : EncodePrompt("");

    /// <summary>Encodes one example (which must have turns, not be a raw document).</summary>
    public EncodedExample Encode(Example example)
    {
        if (example.Turns.Count == 0) throw new ArgumentException($"example {example.Id} has no chat turns (raw documents are mixed in through GenericPassageSource)");
        var ids = new List<int>();
        var labels = new List<int>();
        bool first = true;
        for (int i = 0; i < example.Turns.Count; i++)
        {
            var turn = example.Turns[i];
            if (turn.Role == ChatRole.User)
            {
                var text = Template.Prompt(turn.Content);
                var prompt = first ? _tokenizer.Encode(text) : _tokenizer.Encode(text, addSpecialTokens: false);
                first = false;
                ids.AddRange(prompt);
                labels.AddRange(Enumerable.Repeat(EncodedExample.IgnoreIndex, prompt.Length));
            }
            else
            {
                var answer = _tokenizer.Encode(turn.Content, addSpecialTokens: false);
                ids.AddRange(answer);
                ids.Add(_eos);
                labels.AddRange(answer);
                labels.Add(_eos);
            }
        }
        return new EncodedExample(example.Id, [.. ids], [.. labels]);
    }

    /// <summary>Encodes many examples, dropping (and naming) those longer than <see cref="MaxLength"/>.</summary>
    public EncodingResult EncodeAll(IEnumerable<Example> examples)
    {
        var kept = new List<EncodedExample>();
        var dropped = new List<string>();
        foreach (var e in examples)
        {
            var encoded = Encode(e);
            if (encoded.Length > MaxLength) dropped.Add(e.Id);
            else kept.Add(encoded);
        }
        return new EncodingResult(kept, dropped);
    }
}
