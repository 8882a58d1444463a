using Remix.Experiments;

namespace Remix.Tests.Experiments;

public class AccuracyMatrixTests
{
    static AccuracyMatrix ThreeStages()
    {
        // after stage 0: A 1.0; after 1: A 0.6, B 0.9; after 2: A 0.3, B 0.5, C 1.0
        var r = new AccuracyMatrix(3);
        r[0, 0] = 1.0;
        r[1, 0] = 0.6; r[1, 1] = 0.9;
        r[2, 0] = 0.3; r[2, 1] = 0.5; r[2, 2] = 1.0;
        return r;
    }

    [Fact]
    public void Forgetting_IsBestEarlierMinusFinal()
    {
        var r = ThreeStages();
        Assert.Equal(0.7, r.Forgetting(0), tolerance: 1e-12);
        Assert.Equal(0.4, r.Forgetting(1), tolerance: 1e-12);
        Assert.Equal(0, r.Forgetting(2));
    }

    [Fact]
    public void RetentionAndBackwardTransfer_FollowTheirDefinitions()
    {
        var r = ThreeStages();
        Assert.Equal(0.3, r.Retention(0), tolerance: 1e-12);
        Assert.Equal(0.5 / 0.9, r.Retention(1), tolerance: 1e-12);
        Assert.Equal(((0.3 - 1.0) + (0.5 - 0.9)) / 2, r.BackwardTransfer(), tolerance: 1e-12);
        Assert.Equal((0.3 + 0.5 + 1.0) / 3, r.FinalAverage(), tolerance: 1e-12);
    }

    [Fact]
    public void MissingEntries_AndOutOfRangeValues_AreRefused()
    {
        var r = new AccuracyMatrix(2);
        r[0, 0] = 1;
        Assert.Throws<InvalidOperationException>(() => r.BackwardTransfer());
        Assert.Throws<ArgumentOutOfRangeException>(() => r[1, 0] = 1.5);
    }
}
