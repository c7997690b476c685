using System;
using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Vfs;
using Moat.Tests.Mm;

namespace Moat.Tests.Vfs;

/// <summary>IoSequence: the three kinds of sequence, offsets across iovecs, and Linux's partial-fault counts.</summary>
public sealed class IoSequenceTests : IDisposable
{
    private const ulong Page = Mman.PageSize;

    private readonly MemoryFile _mf = new();
    private readonly MemoryManager _mm;

    // Two pages, the second unmapped: _edge is the first address that faults.
    private readonly ulong _buf;
    private readonly ulong _edge;

    public IoSequenceTests()
    {
        _mm = new MemoryManager(_mf, new FakeAddressSpace(), 0x10000, 0x7f00_0000_0000) { MmapBase = 0x7e00_0000_0000 };
        _buf = (ulong)_mm.MmapAnonymous(0, 2 * Page, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
        Assert.Equal(0, _mm.Munmap(_buf + Page, Page));
        _edge = _buf + Page;
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    [Fact]
    public void Vector_CopyOutPartial_FillsIovecsInOrderUpToTheFault()
    {
        ulong[] pairs = [_buf + 100, 5, _edge - 10, 20, _buf + 200, 5];
        var io = IoSequence.Vector(pairs);
        Assert.Equal(30UL, io.Total);

        byte[] src = new byte[30];
        for (int i = 0; i < src.Length; i++)
        {
            src[i] = (byte)('a' + i);
        }

        Assert.Equal(15, io.CopyOutPartial(_mm, 0, src));
        byte[] got = new byte[10];
        Assert.Equal(0, _mm.CopyIn(_edge - 10, got));
        Assert.Equal(src.AsSpan(5, 10).ToArray(), got);

        // All-or-nothing form: the same copy is a fault.
        Assert.Equal(-Errno.EFAULT.Value, io.CopyOut(_mm, 0, src));
    }

    [Fact]
    public void Vector_CopyIn_AtAnOffset_SkipsWholeAndPartIovecs()
    {
        Assert.Equal(0, _mm.CopyOut(_buf, "0123456789"u8));
        Assert.Equal(0, _mm.CopyOut(_buf + 64, "abcdefghij"u8));
        ulong[] pairs = [_buf, 4, _buf + 1000, 0, _buf + 64, 10];
        var io = IoSequence.Vector(pairs);

        byte[] dst = new byte[5];
        Assert.Equal(0, io.CopyIn(_mm, 2, dst));
        Assert.Equal("23abc"u8.ToArray(), dst);
    }

    [Fact]
    public void App_FirstByteFaults_IsEfaultAndNothingIsRead()
    {
        var io = IoSequence.App(_edge, 8);
        var reader = new CountingReader();
        Assert.Equal(-Errno.EFAULT.Value, io.CopyOutFrom(_mm, 0, ref reader));
        Assert.Equal(0, reader.Calls);
    }

    [Fact]
    public void App_ReaderShortOfTheBlock_EndsTheTransfer()
    {
        var io = IoSequence.App(_buf, 100);
        var reader = new CountingReader { Limit = 40 };
        Assert.Equal(40, io.CopyOutFrom(_mm, 0, ref reader));
        Assert.Equal(1, reader.Calls);
    }

    [Fact]
    public void Sentry_CopiesTouchOnlyTheBufferWindow()
    {
        byte[] buffer = new byte[16];
        var io = IoSequence.Sentry(buffer, 4, 8);
        Assert.True(io.IsSentry);
        Assert.Equal(0, io.CopyOut(_mm, 2, "xyz"u8));
        Assert.Equal(6, io.CopyOutPartial(_mm, 2, "0123456789"u8));
        Assert.Equal("\0\0\0\0\0\0012345\0\0\0\0"u8.ToArray(), buffer);
    }

    [Fact]
    public void WritablePrefix_StopsAtTheFirstUnwritableIovec()
    {
        ulong[] pairs = [_buf, 10, _edge - 3, 10, _buf + 50, 10];
        Assert.Equal(13, IoSequence.Vector(pairs).WritablePrefix(_mm, 1000));
        Assert.Equal(7, IoSequence.Vector(pairs).WritablePrefix(_mm, 7));
        Assert.Equal(-Errno.EFAULT.Value, IoSequence.App(_edge, 1).WritablePrefix(_mm, 1000));
    }

    // Fills up to Limit bytes in all, counting the blocks it was handed.
    private struct CountingReader : IBlockReader
    {
        public int Limit;
        public int Calls;
        private int _done;

        public CountingReader()
        {
            Limit = int.MaxValue;
        }

        public long ReadToBlock(Span<byte> block)
        {
            Calls++;
            int n = Math.Min(block.Length, Limit - _done);
            block[..n].Fill(1);
            _done += n;
            return n;
        }
    }
}
