using System.CommandLine;
using Remix.Data.Bundled;
using Remix.Evaluation;
using Remix.Models;

namespace Remix.Cli;

/// <summary><c>remix generate</c>: greedy continuation of prompts, printing only the continuation.</summary>
public static class GenerateCommand
{
    public static Command Build()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint directory (Hugging Face layout)", Required = true };
        var prompt = new Option<string[]>("--prompt") { Description = "Prompt text; repeat for a batch (one continuation per line)", Required = true, AllowMultipleArgumentsPerToken = false };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens to generate", DefaultValueFactory = _ => 32 };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt as <|user|>\\n{prompt}\\n<|assistant|>\\n" };
        var ids = new Option<bool>("--ids") { Description = "Print the generated token ids, space-separated, instead of text" };
        var noCache = new Option<bool>("--no-cache") { Description = "Re-read the whole sequence at every step (slow; for checking)" };
        var batchSize = new Option<int>("--batch-size") { Description = "Prompts decoded together", DefaultValueFactory = _ => 32 };
        var common = new CommonOptions();
        var command = new Command("generate", "Continue prompts greedily and print only the continuation") { model, prompt, maxNew, chat, ids, noCache, batchSize };
        common.AddTo(command);
        command.SetAction(parse =>
        {
            var dir = BundledPaths.Resolve(parse.GetValue(model)!);
            int max = parse.GetValue(maxNew);
            if (max < 0) throw new InvalidInputException("--max-new-tokens", $"expected a non-negative number, found {max}");
            int batch = parse.GetValue(batchSize);
            if (batch < 1) throw new InvalidInputException("--batch-size", $"expected a positive number, found {batch}");
            using var loaded = common.Load(parse, dir);
            var prompts = parse.GetValue(prompt)!;
            var results = new TextGenerator(loaded).Generate(prompts, max, parse.GetValue(chat), batch, useCache: !parse.GetValue(noCache));
            var output = parse.InvocationConfiguration.Output;
            for (int i = 0; i < results.Count; i++)
            {
                var (text, sequence) = results[i];
                bool last = i == results.Count - 1;
                if (parse.GetValue(ids)) output.WriteLine(string.Join(' ', sequence.Tokens));
                else if (results.Count == 1) output.Write(text + Environment.NewLine);
                else output.WriteLine(last ? text : text.Replace("\n", "\\n"));
            }
            return 0;
        });
        return command;
    }
}
