using Moat.Sentry.Kernel;

namespace Moat.Tests.Kernel;

public sealed class SchedAttrTests
{
    [Fact]
    public void ForChild_WithoutResetOnFork_InheritsEverything()
    {
        var parent = new SchedAttr(SchedAttr.SCHED_FIFO, 10, -5, false);
        Assert.Same(parent, parent.ForChild());
    }

    [Fact]
    public void ForChild_RealTimeWithResetOnFork_StartsNormalAtNiceZero()
    {
        Assert.Equal(SchedAttr.Default, new SchedAttr(SchedAttr.SCHED_RR, 10, 7, true).ForChild());
    }

    [Theory]
    [InlineData(-5, 0)]
    [InlineData(7, 7)]
    public void ForChild_FairWithResetOnFork_UndoesOnlyANegativeNice(int nice, int expected)
    {
        Assert.Equal(new SchedAttr(SchedAttr.SCHED_BATCH, 0, expected, false), new SchedAttr(SchedAttr.SCHED_BATCH, 0, nice, true).ForChild());
    }
}
