namespace Remix.Tests.Support;

/// <summary>
/// Tests that change TorchSharp's process-wide thread count run alone, not beside others: a training beside them
/// would compute with another count part of the way, and an experiment run would record a key (threads are part of
/// a CPU stage's key) that its rerun does not find again.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ThreadCountCollection
{
    public const string Name = "Thread count";
}
