using Moat.Sentry.Kernel;

namespace Moat.Tests.Kernel;

public class IdleReclaimPolicyTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public void Tick_DuringBurst_DoesNotReclaim_ThenReclaimsOnFirstQuietTick()
    {
        var p = new IdleReclaimPolicy();
        Assert.False(p.Tick(10 * MiB));
        Assert.False(p.Tick(30 * MiB));
        Assert.True(p.Tick(30 * MiB + 1000));
    }

    [Fact]
    public void Tick_SmallAllocationsOnly_NeverReclaims()
    {
        var p = new IdleReclaimPolicy();
        long total = 0;
        for (int i = 0; i < 10; i++)
        {
            total += 100 << 10;
            Assert.False(p.Tick(total));
        }

        Assert.True(total < IdleReclaimPolicy.MinBurstBytes);
    }

    [Fact]
    public void Tick_AfterReclaim_WaitsForANewBurst()
    {
        var p = new IdleReclaimPolicy();
        Assert.False(p.Tick(20 * MiB));
        Assert.True(p.Tick(20 * MiB));
        p.Reclaimed(20 * MiB, MiB);
        Assert.False(p.Tick(20 * MiB));
        Assert.False(p.Tick(22 * MiB));
        Assert.False(p.Tick(22 * MiB));
        Assert.False(p.Tick(30 * MiB));
        Assert.True(p.Tick(30 * MiB));
    }

    [Fact]
    public void Tick_SteadyModerateRate_IsNotQuiet()
    {
        var p = new IdleReclaimPolicy();
        long total = 0;
        for (int i = 0; i < 20; i++)
        {
            total += IdleReclaimPolicy.IdleBytesPerTick;
            Assert.False(p.Tick(total));
        }
    }

    [Fact]
    public void Reclaimed_LargeLiveHeap_RaisesTheBurstNeeded()
    {
        var p = new IdleReclaimPolicy();
        Assert.False(p.Tick(100 * MiB));
        Assert.True(p.Tick(100 * MiB));
        p.Reclaimed(100 * MiB, 64 * MiB);

        // 10 MiB of work is a burst for a small heap, but not worth compacting a 64 MiB one.
        Assert.False(p.Tick(110 * MiB));
        Assert.False(p.Tick(110 * MiB));
        Assert.False(p.Tick(170 * MiB));
        Assert.True(p.Tick(170 * MiB));
    }
}
