using System;
using Moat.Abi;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Pgalloc;

public class MemoryFileTests
{
    private const ulong Page = Mman.PageSize;
    private const ulong Huge = Mman.HugePageSize;

    [Fact]
    public void Allocate_SmallLengths_ReturnsDistinctPageAlignedOffsets()
    {
        using var mf = new MemoryFile();

        long a = mf.Allocate(Page);
        long b = mf.Allocate(3 * Page);
        long c = mf.Allocate(Page);

        Assert.True(a >= 0 && b >= 0 && c >= 0);
        foreach (long o in new[] { a, b, c })
        {
            Assert.Equal(0, o & (long)(Page - 1));
        }

        // Lowest fit: the allocations are packed from the start of the file.
        Assert.Equal(0, a);
        Assert.Equal((long)Page, b);
        Assert.Equal((long)(4 * Page), c);
    }

    [Fact]
    public void Allocate_HugePageOrMore_IsHugePageAligned()
    {
        using var mf = new MemoryFile();

        long small = mf.Allocate(Page);
        long big = mf.Allocate(Huge);
        long bigger = mf.Allocate(Huge + Page);

        Assert.Equal(0, small);
        Assert.Equal(0, big % (long)Huge);
        Assert.Equal(0, bigger % (long)Huge);
        Assert.NotEqual(small, big);
        Assert.True(bigger >= big + (long)Huge);
    }

    [Fact]
    public void Allocate_JustBelowHugePage_IsOnlyPageAligned()
    {
        using var mf = new MemoryFile();

        long first = mf.Allocate(Page);
        long next = mf.Allocate(Huge - Page);

        Assert.Equal(0, first);
        Assert.Equal((long)Page, next);
    }

    [Fact]
    public void Free_ThenAllocate_ReusesFreedRange()
    {
        using var mf = new MemoryFile();
        long a = mf.Allocate(Page);
        long b = mf.Allocate(Page);
        _ = mf.Allocate(Page);

        mf.Free(b, Page);
        long again = mf.Allocate(Page);

        Assert.NotEqual(a, b);
        Assert.Equal(b, again);
    }

    [Fact]
    public void Free_ThenAllocate_ReadsBackAsZeros()
    {
        using var mf = new MemoryFile();
        long off = mf.Allocate(2 * Page);
        Span<byte> span = mf.SpanAt(off, (int)(2 * Page));
        span.Fill(0xA5);
        Assert.Equal(0xA5, mf.SpanAt(off, 1)[0]);

        mf.Free(off, 2 * Page);
        long again = mf.Allocate(2 * Page);

        Assert.Equal(off, again);
        Span<byte> reread = mf.SpanAt(again, (int)(2 * Page));
        Assert.Equal(-1, reread.IndexOfAnyExcept((byte)0));
    }

    [Fact]
    public void SpanAt_AndPointerAt_AddressTheSameBytes()
    {
        using var mf = new MemoryFile();
        long off = mf.Allocate(Page);

        mf.SpanAt(off, 16)[7] = 0x42;

        unsafe
        {
            Assert.Equal(0x42, mf.PointerAt(off)[7]);
        }
    }

    [Fact]
    public void AllocatedBytes_TracksAllocateAndFree()
    {
        using var mf = new MemoryFile();
        Assert.Equal(0UL, mf.AllocatedBytes);

        long a = mf.Allocate(Page);
        long b = mf.Allocate(Huge);
        Assert.Equal(Page + Huge, mf.AllocatedBytes);

        mf.Free(b, Huge);
        Assert.Equal(Page, mf.AllocatedBytes);

        mf.Free(a, Page);
        Assert.Equal(0UL, mf.AllocatedBytes);
    }

    [Fact]
    public void UsageBytes_CountsTouchedPagesNotAllocatedRanges()
    {
        using var mf = new MemoryFile();
        long a = mf.Allocate(Huge);
        Assert.Equal(0UL, mf.UsageBytes);

        unsafe
        {
            mf.PointerAt(a)[0] = 1;
            mf.PointerAt(a + (long)(3 * Page))[5] = 1;
        }

        // Two pages (a whole huge page where the host backs shared memory with them: shmem_enabled=always).
        ulong used = mf.UsageBytes;
        Assert.True(used == 2 * Page || used == Huge, $"usage {used}");
        Assert.Equal(Huge, mf.AllocatedBytes);

        mf.Free(a, Huge);
        Assert.Equal(0UL, mf.UsageBytes);
        Assert.Equal(used, mf.PeakUsageBytes);
    }

    [Fact]
    public void Limit_RefusesOnlyWhatWouldPassItInTouchedPages()
    {
        using var mf = new MemoryFile { Limit = Huge + Huge / 2 };

        // Handed out beyond the limit, but untouched: as the memory cgroup, nothing is charged yet.
        long a = mf.Allocate(Huge);
        long b = mf.Allocate(Huge);
        Assert.True(a >= 0 && b >= 0);

        unsafe
        {
            new Span<byte>(mf.PointerAt(a), (int)Huge).Fill(1);
        }

        // A whole unit more would pass the limit now; a page still fits.
        Assert.Equal(-Errno.ENOMEM.Value, mf.Allocate(Huge));
        Assert.Equal(1, mf.LimitFailures);
        Assert.True(mf.Allocate(Page) >= 0);
    }

    [Fact]
    public void Free_ZeroLength_IsANoOp()
    {
        using var mf = new MemoryFile();
        long a = mf.Allocate(Page);

        mf.Free(a, 0);

        Assert.Equal(Page, mf.AllocatedBytes);
    }

    [Fact]
    public void Free_Twice_ThrowsDoubleFree()
    {
        using var mf = new MemoryFile();
        long a = mf.Allocate(Page);
        _ = mf.Allocate(Page);
        mf.Free(a, Page);

        Assert.Throws<InvalidOperationException>(() => mf.Free(a, Page));
    }

    [Fact]
    public void FileSize_GrowsInWholeChunks()
    {
        using var mf = new MemoryFile();
        Assert.Equal(0UL, mf.FileSize);

        _ = mf.Allocate(Page);
        Assert.Equal(MemoryFile.ChunkSize, mf.FileSize);

        // Still fits in the first chunk: no growth.
        _ = mf.Allocate(16 * Huge);
        Assert.Equal(MemoryFile.ChunkSize, mf.FileSize);

        // A chunk-sized allocation no longer fits: the file grows by whole chunks.
        long big = mf.Allocate(MemoryFile.ChunkSize);
        Assert.True(big >= 0);
        Assert.True(mf.FileSize > MemoryFile.ChunkSize);
        Assert.Equal(0UL, mf.FileSize % MemoryFile.ChunkSize);
        Assert.True((ulong)big + MemoryFile.ChunkSize <= mf.FileSize);
        Assert.Equal(0, big % (long)Huge);
    }

    [Fact]
    public void Allocate_ZeroLength_Throws()
    {
        using var mf = new MemoryFile();

        Assert.Throws<ArgumentOutOfRangeException>(() => mf.Allocate(0));
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(4095UL)]
    [InlineData(4097UL)]
    public void Allocate_UnalignedLength_Throws(ulong length)
    {
        using var mf = new MemoryFile();

        Assert.Throws<ArgumentOutOfRangeException>(() => mf.Allocate(length));
        Assert.Equal(0UL, mf.AllocatedBytes);
    }

    [Fact]
    public void Allocate_BeyondMaxSize_ReturnsENOMEM()
    {
        using var mf = new MemoryFile();

        long r = mf.Allocate(MemoryFile.MaxSize);

        Assert.Equal(-Errno.ENOMEM.Value, r);
        Assert.Equal(0UL, mf.AllocatedBytes);
    }

    [Fact]
    public void Handle_IsAValidMemfd()
    {
        using var mf = new MemoryFile();
        _ = mf.Allocate(Page);

        Assert.False(mf.Handle.IsInvalid);
        Assert.Equal(0, Moat.Host.HostFile.Fstat(mf.Handle.Fd, out Stat st));
        Assert.Equal((long)MemoryFile.ChunkSize, st.st_size);
    }

    [Fact]
    public void Free_ReturnsThePagesToTheHost()
    {
        using var mf = new MemoryFile();
        long a = mf.Allocate(256 * Page);
        mf.SpanAt(a, (int)(256 * Page)).Fill(0x5a);
        Assert.Equal(0, Moat.Host.HostFile.Fstat(mf.Handle.Fd, out Stat before));

        mf.Free(a, 256 * Page);

        Assert.Equal(0, Moat.Host.HostFile.Fstat(mf.Handle.Fd, out Stat after));
        Assert.True(before.st_blocks >= 256 * 8, $"{before.st_blocks} blocks written");
        Assert.Equal(0, after.st_blocks);
    }

    [Fact]
    public void TrimExcess_AfterSharesAreGone_KeepsReferenceCounting()
    {
        using var mf = new MemoryFile();
        long a = mf.Allocate(4096 * Page);
        mf.IncRef(a, 4096 * Page);
        mf.Free(a, 4096 * Page);
        Assert.False(mf.IsShared(a, 4096 * Page));
        Assert.Equal(4096 * Page, mf.AllocatedBytes);

        mf.TrimExcess();

        mf.IncRef(a, Page);
        Assert.True(mf.IsShared(a, Page));
        mf.Free(a, 4096 * Page);
        Assert.Equal(Page, mf.AllocatedBytes);
        mf.Free(a, Page);
        Assert.Equal(0UL, mf.AllocatedBytes);
    }
}
