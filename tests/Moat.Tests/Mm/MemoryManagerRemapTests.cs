using System;
using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Mm;

public sealed class MemoryManagerRemapTests : IDisposable
{
    private const ulong Page = Mman.PageSize;
    private const ulong Fixed = 0x4000_0000;
    private const int RW = Mman.PROT_READ | Mman.PROT_WRITE;
    private const int PrivateFixed = Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED;

    private readonly MemoryFile _mf = new();
    private readonly MemoryManager _mm;

    public MemoryManagerRemapTests()
    {
        _mm = new MemoryManager(_mf, new FakeAddressSpace(), 0x10000, 0x7f00_0000_0000) { MmapBase = 0x7e00_0000_0000 };
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    private void Fill(ulong addr, ulong pages)
    {
        for (ulong i = 0; i < pages; i++)
        {
            Assert.Equal(0, _mm.CopyOut(addr + (i * Page), (byte)(i + 1)));
        }
    }

    private byte At(ulong addr)
    {
        Assert.Equal(0, _mm.CopyIn(addr, out byte b));
        return b;
    }

    [Fact]
    public void Shrink_UnmapsTheTailInPlace()
    {
        _mm.MmapAnonymous(Fixed, 4 * Page, RW, PrivateFixed);

        Assert.Equal((long)Fixed, _mm.Mremap(Fixed, 4 * Page, 2 * Page, 0, 0));
        Assert.Equal(2 * Page, _mm.MappedBytes);
    }

    [Fact]
    public void Grow_WithFreeSpaceAfter_StaysInPlace()
    {
        _mm.MmapAnonymous(Fixed, 2 * Page, RW, PrivateFixed);
        Fill(Fixed, 2);

        Assert.Equal((long)Fixed, _mm.Mremap(Fixed, 2 * Page, 5 * Page, 0, 0));
        Assert.Equal(2, At(Fixed + Page));
        Assert.Equal(0, At(Fixed + (4 * Page)));
    }

    [Fact]
    public void Grow_Blocked_MovesWithMayMoveAndKeepsTheBytes()
    {
        _mm.MmapAnonymous(Fixed, 2 * Page, RW, PrivateFixed);
        _mm.MmapAnonymous(Fixed + (2 * Page), Page, RW, PrivateFixed);
        Fill(Fixed, 2);
        ulong allocatedBefore = _mm.ResidentBytes();

        Assert.Equal(-Errno.ENOMEM.Value, _mm.Mremap(Fixed, 2 * Page, 4 * Page, 0, 0));
        long to = _mm.Mremap(Fixed, 2 * Page, 4 * Page, Mman.MREMAP_MAYMOVE, 0);

        Assert.True(to > 0 && (ulong)to != Fixed);
        Assert.Equal(1, At((ulong)to));
        Assert.Equal(2, At((ulong)to + Page));
        Assert.Equal(0, At((ulong)to + (3 * Page)));
        Assert.True(_mm.ResidentBytes() <= allocatedBefore + (2 * Page) + Mman.HugePageSize);
        Assert.Equal(-Errno.EFAULT.Value, _mm.Mremap(Fixed, Page, Page, 0, 0));
    }

    [Fact]
    public void DontUnmap_LeavesTheOldRangeMappedAndEmpty()
    {
        _mm.MmapAnonymous(Fixed, 2 * Page, RW, PrivateFixed);
        Fill(Fixed, 2);

        long to = _mm.Mremap(Fixed, 2 * Page, 2 * Page, Mman.MREMAP_MAYMOVE | Mman.MREMAP_DONTUNMAP, 0);

        Assert.True(to > 0);
        Assert.Equal(2, At((ulong)to + Page));
        Assert.Equal(0, At(Fixed + Page));
    }

    [Fact]
    public void Mincore_ReportsAllocatedPagesAndHoles()
    {
        _mm.MmapAnonymous(Fixed, 2 * Page, RW, PrivateFixed);

        Assert.Equal(0, _mm.Mincore(Fixed, 2 * Page, out byte[] before));
        Assert.Equal(new byte[] { 0, 0 }, before);
        Fill(Fixed, 1);
        Assert.Equal(0, _mm.Mincore(Fixed, Page, out byte[] after));
        Assert.Equal(1, after[0]);
        Assert.Equal(-Errno.ENOMEM.Value, _mm.Mincore(Fixed, 3 * Page, out _));
        Assert.Equal(-Errno.EINVAL.Value, _mm.Mincore(Fixed + 1, Page, out _));
    }
}
