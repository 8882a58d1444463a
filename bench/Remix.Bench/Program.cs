using Remix.Bench;
using Remix.Runtime;

// Process-wide malloc tuning is the application's choice; the benchmarks measure what the CLI does.
NativeHeap.RetainFreedMemory();

return args.FirstOrDefault() switch
{
    "generation" => GenerationBenchmark.Run(args[1..]),
    "training" => TrainingBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Remix.Bench -- generation [--threads N] [--new-tokens N] [--kernels auto|reference] [--shape stories260k | --model DIR] [--batches 1,32,256] [--cache-only] [--no-memory]\n       ... -- training [--hidden 256 --layers 4 --batch 16 --seq 128 --steps 60 --vocab 2048 --threads N]");
    return 2;
}
