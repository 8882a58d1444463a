using Remix.Bench;
using Remix.Runtime;

// Process-wide malloc tuning is the application's choice; the benchmarks measure what the CLI does.
NativeHeap.RetainFreedMemory();

try
{
    return args.FirstOrDefault() switch
    {
        "generation" => GenerationBenchmark.Run(args[1..]),
        "training" => TrainingBenchmark.Run(args[1..]),
        "decoding" => DecodingBenchmark.Run(args[1..]),
        "limits" => Limits.Run(args[1..]),
        "demo-training" => DemoTrainingBenchmark.Run(args[1..]),
        "demo-split" => DemoSplit.Run(args[1..]),
        _ => Usage(),
    };
}
catch (Remix.InvalidInputException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: dotnet run -c Release --project bench/Remix.Bench -- generation [--threads N] [--new-tokens N] [--kernels auto|reference]
                   [--shape stories260k | --model DIR] [--batches 1,32,256] [--cache-only] [--no-memory]
               ... -- training [--hidden 256 --layers 4 --batch 16 --seq 128 --steps 60 --vocab 2048 --threads N]
               ... -- decoding (--model DIR | --shape stories260k [--save DIR] [--seed 0]) [--batches 1,32,256] [--prompt-length 8]
                   [--new-tokens 248] [--repeats 5] [--kernels auto|reference] [--threads N] [--reference-command CMD [--reference-label NAME]]
               ... -- limits [--threads 1,2] [--megabytes 1024] [--repeats 7]
               ... -- demo-training [--runs naive/A,remix-both/A,remix-both/B] [--quick] [--steps 30] [--repeats 15] [--kernels auto|reference] [--threads N]
               ... -- demo-split RUNS_DIR [--wall-seconds S]
        """);
    return 2;
}
