using Remix.Bench;

return args.FirstOrDefault() switch
{
    "generation" => GenerationBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Remix.Bench -- generation [--threads N] [--new-tokens N]");
    return 2;
}
