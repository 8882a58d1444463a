namespace Remix.Experiments;

/// <summary>
/// The continual-learning accuracy matrix: <c>R[i][j]</c> is the accuracy on stage j's evaluation set
/// after training stage i (rows are filled as stages finish; only j ≤ i is required). From it come
/// forgetting, retention and backward transfer.
/// </summary>
public sealed class AccuracyMatrix
{
    readonly double?[,] _r;

    public AccuracyMatrix(int stages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stages, 1);
        Stages = stages;
        _r = new double?[stages, stages];
    }

    public int Stages { get; }

    /// <summary>Accuracy on set <paramref name="set"/> after stage <paramref name="after"/>, or null if not measured.</summary>
    public double? this[int after, int set]
    {
        get => _r[after, set];
        set
        {
            if (value is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(value), "accuracy lies in [0, 1]");
            _r[after, set] = value;
        }
    }

    double Get(int after, int set) => _r[after, set] ?? throw new InvalidOperationException($"R[{after}][{set}] has not been measured");

    /// <summary>
    /// Forgetting of set j after the last stage: the best accuracy it ever had after stages j..T-2,
    /// minus its accuracy after the last stage T-1 (0 for the last stage itself).
    /// </summary>
    public double Forgetting(int set)
    {
        int last = Stages - 1;
        if (set >= last) return 0;
        double best = Enumerable.Range(set, last - set).Max(i => Get(i, set));
        return best - Get(last, set);
    }

    /// <summary>Retention of set j: accuracy after the last stage divided by accuracy right after learning it (1 when that was 0).</summary>
    public double Retention(int set)
    {
        double learned = Get(set, set);
        return learned == 0 ? 1 : Get(Stages - 1, set) / learned;
    }

    /// <summary>Backward transfer: the mean over earlier sets of R[T-1][j] − R[j][j] (negative means forgetting).</summary>
    public double BackwardTransfer()
    {
        if (Stages < 2) return 0;
        return Enumerable.Range(0, Stages - 1).Average(j => Get(Stages - 1, j) - Get(j, j));
    }

    /// <summary>Mean accuracy over all sets after the last stage.</summary>
    public double FinalAverage() => Enumerable.Range(0, Stages).Average(j => Get(Stages - 1, j));
}
