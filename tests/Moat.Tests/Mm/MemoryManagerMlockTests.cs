using System;
using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Mm;

public sealed class MemoryManagerMlockTests : IDisposable
{
    private const ulong Page = Mman.PageSize;
    private const ulong Fixed = 0x4000_0000;
    private const int RW = Mman.PROT_READ | Mman.PROT_WRITE;
    private const int PrivateFixed = Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED;

    private readonly MemoryFile _mf = new();
    private readonly FakeAddressSpace _as = new();
    private readonly MemoryManager _mm;

    public MemoryManagerMlockTests()
    {
        _mm = new MemoryManager(_mf, _as, 0x10000, 0x7f00_0000_0000) { MmapBase = 0x7e00_0000_0000 };
        Assert.Equal((long)Fixed, _mm.MmapAnonymous(Fixed, 16 * Page, RW, PrivateFixed));
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    [Fact]
    public void SetLocked_CountsOverlapsOnce_AndEnforcesTheLimit()
    {
        Assert.Equal(0, _mm.SetLocked(Fixed, 4 * Page, locked: true, populate: true, 8 * Page, unlimited: false));
        Assert.Equal(4 * Page, _mm.LockedBytes);

        // 2 pages already locked + 4 new = 8 in all: within the limit.
        Assert.Equal(0, _mm.SetLocked(Fixed + (2 * Page), 6 * Page, locked: true, populate: true, 8 * Page, unlimited: false));
        Assert.Equal(8 * Page, _mm.LockedBytes);

        Assert.Equal(-Errno.ENOMEM.Value, _mm.SetLocked(Fixed + (8 * Page), Page, locked: true, populate: true, 8 * Page, unlimited: false));
        Assert.Equal(0, _mm.SetLocked(Fixed + (8 * Page), Page, locked: true, populate: true, 8 * Page, unlimited: true));
        Assert.Equal(9 * Page, _mm.LockedBytes);

        Assert.Equal(0, _mm.SetLocked(Fixed, 16 * Page, locked: false, populate: false, 0, unlimited: true));
        Assert.Equal(0UL, _mm.LockedBytes);
    }

    [Fact]
    public void SetLocked_Hole_LocksWhatPrecedesIt_AndAnswersEnomem()
    {
        Assert.Equal(0, _mm.Munmap(Fixed + (4 * Page), Page));
        Assert.Equal(-Errno.ENOMEM.Value, _mm.SetLocked(Fixed, 8 * Page, locked: true, populate: true, ulong.MaxValue, unlimited: false));
        Assert.Equal(4 * Page, _mm.LockedBytes);
        Assert.Equal(-Errno.ENOMEM.Value, _mm.SetLocked(Fixed + (4 * Page), Page, locked: true, populate: true, ulong.MaxValue, unlimited: false));
    }

    [Fact]
    public void LockAll_FutureLocksNewMappings_AndForkDropsLocks()
    {
        Assert.Equal(0, _mm.LockAll(current: true, future: true, ulong.MaxValue, unlimited: false));
        Assert.Equal(16 * Page, _mm.LockedBytes);
        Assert.Equal((long)(Fixed + (32 * Page)), _mm.MmapAnonymous(Fixed + (32 * Page), 2 * Page, RW, PrivateFixed));
        Assert.Equal(18 * Page, _mm.LockedBytes);

        using MemoryManager child = _mm.Fork();
        Assert.Equal(0UL, child.LockedBytes);

        Assert.Equal(-Errno.ENOMEM.Value, _mm.LockAll(current: true, future: false, 4 * Page, unlimited: false));
        Assert.Equal(0, _mm.LockAll(current: false, future: true, 0, unlimited: true));
        Assert.Equal(18 * Page, _mm.LockedBytes); // MCL_FUTURE alone keeps present locks
        Assert.Equal(0, _mm.LockAll(current: false, future: false, 0, unlimited: true));
        Assert.Equal(0UL, _mm.LockedBytes);
    }
}
