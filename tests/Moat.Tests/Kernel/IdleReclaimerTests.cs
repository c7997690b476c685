using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Kernel;

public class IdleReclaimerTests
{
    [Fact]
    public void Reclaim_CollectsAndLeavesTheMemoryFileUsable()
    {
        using var mf = new MemoryFile();
        using var reclaimer = new IdleReclaimer(mf);
        long a = mf.Allocate(64 * Mman.PageSize);
        mf.IncRef(a, 64 * Mman.PageSize);
        mf.Free(a, 64 * Mman.PageSize);
        int gen2 = GC.CollectionCount(2);

        reclaimer.Reclaim();

        Assert.Equal(1, reclaimer.Reclaims);
        Assert.True(GC.CollectionCount(2) > gen2);
        mf.Free(a, 64 * Mman.PageSize);
        Assert.Equal(0UL, mf.AllocatedBytes);
    }

    [Fact]
    public void Dispose_AfterStart_StopsTheSampler()
    {
        using var mf = new MemoryFile();
        var reclaimer = new IdleReclaimer(mf);
        reclaimer.Start();
        reclaimer.Start();

        // Returns once the sampling thread has ended (it joins it).
        reclaimer.Dispose();
    }
}
