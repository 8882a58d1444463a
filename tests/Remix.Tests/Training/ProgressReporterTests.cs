using Remix.Training;

namespace Remix.Tests.Training;

public class ProgressReporterTests
{
    [Fact]
    public void WithoutATerminal_PrintsPlainLinesEveryNSteps_AndTheLast()
    {
        var output = new StringWriter();
        var progress = new ProgressReporter(output, isTerminal: false, logEvery: 5);
        for (int step = 1; step <= 12; step++) progress.Step(step, 12, 0, 1.0 / step, 1e-3, 1000);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length); // step 1 (first), 5, 10, 12 (last)
        Assert.StartsWith("step 1/12  epoch 1  loss 1.0000  lr 1.00E-003  1,000 tok/s  ETA ", lines[0]);
        Assert.StartsWith("step 12/12", lines[^1]);
        Assert.DoesNotContain('\r', output.ToString());
    }

    [Fact]
    public void TheEta_OfASecondRun_IsTimedFromItsOwnStart()
    {
        var output = new StringWriter();
        var progress = new ProgressReporter(output, isTerminal: false, logEvery: 1);
        progress.Step(1, 2, 0, 1, 1e-3, 10);
        Thread.Sleep(1500); // the first run's end, an evaluation: not part of the next run's time per step
        progress.Step(1, 1000, 0, 1, 1e-3, 10);
        Assert.EndsWith("ETA 00:00:00", output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].TrimEnd());
    }

    [Fact]
    public void OnATerminal_RewritesOneLine()
    {
        var output = new StringWriter();
        var progress = new ProgressReporter(output, isTerminal: true);
        progress.Step(1, 2, 0, 0.5, 1e-3, 10);
        progress.Message("checkpoint saved");
        Assert.StartsWith("\rstep 1/2", output.ToString());
        Assert.Contains("checkpoint saved\n", output.ToString().Replace("\r\n", "\n"));
    }
}
