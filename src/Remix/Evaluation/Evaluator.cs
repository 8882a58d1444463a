using System.Text.Json;
using Remix.Checkpoints;
using Remix.Data.Batching;
using Remix.Data;
using Remix.IO;
using Remix.Models;
using Remix.Tokenization;
using static TorchSharp.torch;

namespace Remix.Evaluation;

/// <summary>
/// Greedy evaluation: the prompt <c>&lt;|user|&gt;\n{question}\n&lt;|assistant|&gt;\n</c> (after the earlier turns of a
/// conversation, whose last assistant turn is the target), decoded until EOS
/// (at most the longest gold answer of the batch plus a margin, capped), scored by exact match and ROUGE-L;
/// and, with the training target fed in (teacher forcing), answer-token accuracy and gold log-probability.
/// </summary>
public sealed class Evaluator(LlamaForCausalLM model, HfTokenizer tokenizer, IReadOnlyCollection<int> stopTokenIds, ChatTemplate? template = null)
{
    readonly ExampleEncoder _encoder = new(tokenizer, template);
    readonly GreedyGenerator _generator = new(model);

    public Evaluator(LoadedModel loaded, ChatTemplate? template = null) : this(loaded.Model, loaded.Tokenizer, loaded.StopTokenIds, template) { }

    public int BatchSize { get; init; } = 32;
    /// <summary>Tokens generated beyond the batch's longest gold answer (at most <see cref="MaxNewTokens"/> in all).</summary>
    public int Margin { get; init; } = 8;
    public int MaxNewTokens { get; init; } = 512;
    /// <summary>Also score the training target under teacher forcing (one extra forward pass per batch).</summary>
    public bool TeacherForced { get; init; } = true;

    public EvaluationResult Evaluate(string name, IReadOnlyList<Example> examples)
    {
        var records = new List<PredictionRecord>(examples.Count);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            foreach (var chunk in examples.Where(e => e.Turns.Count > 0).Chunk(BatchSize))
            {
                int longest = chunk.Max(e => References(e).Max(r => tokenizer.Encode(r, addSpecialTokens: false).Length));
                // A conversation is continued after all its earlier turns: the target answers the last question, in context.
                var prompts = chunk.Select(_encoder.EncodeContext).ToList();
                var outputs = _generator.Generate(prompts, Math.Min(MaxNewTokens, longest + Margin), stopTokenIds);
                var forced = TeacherForced ? ScoreTargets(chunk) : null;
                for (int i = 0; i < chunk.Length; i++)
                {
                    var e = chunk[i];
                    var prediction = tokenizer.Decode(outputs[i].Content);
                    bool correct = e.Answers.Count > 0 && AnswerMatcher.IsCorrect(prediction, e);
                    records.Add(new PredictionRecord(e.Id, e.TargetQuestion, prediction, e.Answers, correct, RougeL.Best(prediction, References(e)),
                        forced?[i].TokenAccuracy ?? double.NaN, forced?[i].LogProb ?? double.NaN));
                }
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        if (records.Count == 0) throw new InvalidInputException(name, "no examples with chat turns to evaluate");
        var scored = records.Where(r => r.Answers.Count > 0).ToList();
        double accuracy = scored.Count == 0 ? 0 : (double)scored.Count(r => r.Correct) / scored.Count;
        return new EvaluationResult(name, accuracy, records.Average(r => r.RougeL), records);
    }

    /// <summary>
    /// Per example, over the labelled tokens of its encoded training target (answer and EOS): the fraction
    /// whose argmax is the gold token and the mean gold log-probability.
    /// </summary>
    (double TokenAccuracy, double LogProb)[] ScoreTargets(IReadOnlyList<Example> examples)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var encoded = examples.Select(_encoder.Encode).ToList();
        var batch = ITokenBatch.For(model, encoded, tokenizer.PadTokenId ?? tokenizer.EosTokenId ?? 0);
        var (ids, labels) = batch.ToTensors(model.Device);
        var (logits, positions, gold) = CausalLmLoss.AtLabels(model, ids, labels, batch.PackedLengths);
        var flat = positions.cpu().data<long>().ToArray();
        var logProbs = nn.functional.log_softmax(logits, 1).gather(1, gold.unsqueeze(1)).squeeze(1).to(ScalarType.Float64).cpu().data<double>().ToArray();
        var hits = logits.argmax(1).eq(gold).cpu().data<bool>().ToArray();
        var scores = new (double Correct, double LogProb, int Tokens)[examples.Count];
        for (int k = 0; k < flat.Length; k++)
        {
            int row = batch.ExampleAt(flat[k]);
            scores[row] = (scores[row].Correct + (hits[k] ? 1 : 0), scores[row].LogProb + logProbs[k], scores[row].Tokens + 1);
        }
        return [.. scores.Select(s => s.Tokens == 0 ? (double.NaN, double.NaN) : (s.Correct / s.Tokens, s.LogProb / s.Tokens))];
    }

    static IReadOnlyList<string> References(Example e) => e.Answers.Count > 0 ? e.Answers : [e.Target];

    /// <summary>Writes predictions as JSON Lines (id, question, prediction, answers, correct, rouge_l, token_accuracy, gold_logprob), atomically.</summary>
    public static void WritePredictions(string path, IEnumerable<PredictionRecord> predictions) =>
        AtomicFile.WriteAllText(path, string.Concat(predictions.Select(p => JsonSerializer.Serialize(new
        {
            id = p.Id, question = p.Question, prediction = p.Prediction, answers = p.Answers, correct = p.Correct, rouge_l = Math.Round(p.RougeL, 6),
            token_accuracy = double.IsNaN(p.TokenAccuracy) ? (double?)null : Math.Round(p.TokenAccuracy, 6),
            gold_logprob = double.IsNaN(p.GoldLogProb) ? (double?)null : Math.Round(p.GoldLogProb, 6),
        }, JsonOptions.Relaxed) + "\n")));

    /// <summary>
    /// Reads a predictions file as <see cref="WritePredictions"/> wrote it (a score it left null reads as NaN); a line that
    /// is not such a record is refused in one line naming the file and line.
    /// </summary>
    public static IReadOnlyList<PredictionRecord> ReadPredictions(string path)
    {
        var records = new List<PredictionRecord>();
        int number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0) continue;
            try
            {
                var o = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
                static double Score(System.Text.Json.Nodes.JsonNode? n) => n is null ? double.NaN : n.GetValue<double>();
                records.Add(new PredictionRecord(o["id"]!.GetValue<string>(), o["question"]!.GetValue<string>(), o["prediction"]!.GetValue<string>(),
                    [.. o["answers"]!.AsArray().Select(a => a!.GetValue<string>())], o["correct"]!.GetValue<bool>(), Score(o["rouge_l"]),
                    Score(o["token_accuracy"]), Score(o["gold_logprob"])));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
            {
                throw new InvalidInputException($"{path}:{number}", "expected a prediction record (id, question, prediction, answers, correct, rouge_l, token_accuracy, gold_logprob)");
            }
        }
        return records;
    }
}
