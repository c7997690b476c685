using System;
using System.Linq;
using Moat.Abi;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Vfs.Tmpfs;
using TmpfsFs = Moat.Sentry.Vfs.Tmpfs.Tmpfs;

namespace Moat.Tests.Vfs.Tmpfs;

public sealed class TmpfsRegularTests : IDisposable
{
    private readonly MemoryFile _mf = new();
    private readonly TmpfsFs _fs;
    private readonly TmpfsRegular _f;

    public TmpfsRegularTests()
    {
        _fs = new TmpfsFs(_mf, "/tmp", 0x3FF);
        _f = new TmpfsRegular(_fs, 0x1A4, 1000, 1000);
        _fs.Root.Children["f"] = _f;
    }

    public void Dispose() => _mf.Dispose();

    private static byte[] Pattern(int length, int seed)
    {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++)
        {
            b[i] = (byte)((i * 7) + seed);
        }

        return b;
    }

    [Fact]
    public void Constructor_NewFile_IsEmptyRegular()
    {
        Assert.Equal(0, _f.Size);
        Assert.Equal(Stat.S_IFREG | 0x1A4u, _f.Mode);
        Assert.Equal(1UL, _f.Nlink);
        Assert.Equal(0, _f.Read(0, new byte[10]));
    }

    [Fact]
    public void WriteRead_AcrossPageBoundary_RoundTrips()
    {
        byte[] data = Pattern(6000, 3);

        Assert.Equal(6000, _f.Write(4000, data));
        Assert.Equal(10000, _f.Size);

        byte[] back = new byte[6000];
        Assert.Equal(6000, _f.Read(4000, back));
        Assert.Equal(data, back);

        // An unaligned read straddling the boundary at 8192.
        byte[] mid = new byte[100];
        Assert.Equal(100, _f.Read(8150, mid));
        Assert.Equal(data.Skip(4150).Take(100).ToArray(), mid);
    }

    [Fact]
    public void Write_Overwrite_KeepsSizeAndReplacesBytes()
    {
        _f.Write(0, Pattern(5000, 1));

        Assert.Equal(3, _f.Write(4095, new byte[] { 0xAA, 0xBB, 0xCC }));

        Assert.Equal(5000, _f.Size);
        byte[] back = new byte[5];
        _f.Read(4094, back);
        Assert.Equal(Pattern(5000, 1)[4094], back[0]);
        Assert.Equal(new byte[] { 0xAA, 0xBB, 0xCC }, back[1..4]);
        Assert.Equal(Pattern(5000, 1)[4098], back[4]);
    }

    [Fact]
    public void Write_AtOffsetOnEmptyFile_LeavesZeroHole()
    {
        byte[] data = Pattern(10, 9);

        Assert.Equal(10, _f.Write(10000, data));

        Assert.Equal(10010, _f.Size);
        byte[] back = new byte[10010];
        Array.Fill(back, (byte)0xFF);
        Assert.Equal(10010, _f.Read(0, back));
        Assert.All(back.Take(10000), b => Assert.Equal(0, b));
        Assert.Equal(data, back[10000..]);

        // Only the page written was allocated.
        Assert.Equal(Mman.PageSize, _mf.UsageBytes);
    }

    [Fact]
    public void Read_PastEnd_IsShortOrZero()
    {
        _f.Write(0, Pattern(100, 0));

        byte[] back = new byte[50];
        Assert.Equal(20, _f.Read(80, back));
        Assert.Equal(0, _f.Read(100, back));
        Assert.Equal(0, _f.Read(5000, back));
    }

    [Fact]
    public void Write_Empty_ReturnsZeroAndDoesNotGrow()
    {
        Assert.Equal(0, _f.Write(100, ReadOnlySpan<byte>.Empty));

        Assert.Equal(0, _f.Size);
        Assert.Equal(0UL, _mf.UsageBytes);
    }

    [Fact]
    public void Truncate_Shrink_ThenGrow_ReadsZerosPastOldEnd()
    {
        _f.Write(0, Enumerable.Repeat((byte)0xAB, 8192).ToArray());

        _f.Truncate(5000);
        Assert.Equal(5000, _f.Size);
        Assert.Equal(0, _f.Read(5000, new byte[10]));

        _f.Truncate(9000);
        Assert.Equal(9000, _f.Size);
        byte[] back = new byte[9000];
        Assert.Equal(9000, _f.Read(0, back));
        Assert.All(back.Take(5000), b => Assert.Equal(0xAB, b));
        Assert.All(back.Skip(5000), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Truncate_ShrinkToPageBoundary_FreesPagesPastIt()
    {
        _f.Write(0, Pattern(3 * 4096, 5));
        Assert.Equal(3 * Mman.PageSize, _mf.UsageBytes);

        _f.Truncate(4096);

        Assert.Equal(4096, _f.Size);
        Assert.Equal(Mman.PageSize, _mf.UsageBytes);
        _f.Truncate(3 * 4096);
        byte[] back = new byte[3 * 4096];
        _f.Read(0, back);
        Assert.Equal(Pattern(3 * 4096, 5)[..4096], back[..4096]);
        Assert.All(back.Skip(4096), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Truncate_ShrinkMidPage_KeepsThatPageAndFreesLater()
    {
        _f.Write(0, Pattern(3 * 4096, 5));

        _f.Truncate(5000);

        Assert.Equal(2 * Mman.PageSize, _mf.UsageBytes);
    }

    [Fact]
    public void Truncate_ToZero_FreesEverything()
    {
        _f.Write(0, Pattern(9000, 5));

        _f.Truncate(0);

        Assert.Equal(0, _f.Size);
        Assert.Equal(0UL, _mf.UsageBytes);
    }

    [Fact]
    public void Truncate_Grow_ExtendsWithZerosWithoutAllocating()
    {
        _f.Write(0, new byte[] { 1, 2, 3 });
        ulong used = _mf.UsageBytes;

        _f.Truncate(20000);

        Assert.Equal(20000, _f.Size);
        Assert.Equal(used, _mf.UsageBytes);
        byte[] back = new byte[20000];
        Assert.Equal(20000, _f.Read(0, back));
        Assert.Equal(new byte[] { 1, 2, 3 }, back[..3]);
        Assert.All(back.Skip(3), b => Assert.Equal(0, b));
    }

    [Fact]
    public void ReleaseData_AfterWrites_ReturnsMemoryAndEmptiesFile()
    {
        ulong before = _mf.UsageBytes;
        _f.Write(0, Pattern(4096 * 2 + 1, 1));
        _f.Write(50000, Pattern(10, 1));
        Assert.Equal(before + (4 * Mman.PageSize), _mf.UsageBytes);

        _f.ReleaseData();

        Assert.Equal(before, _mf.UsageBytes);
        Assert.Equal(0, _f.Size);
        Assert.Equal(0, _f.Read(0, new byte[10]));
    }

    [Fact]
    public void ToStat_AfterWrite_ReportsSizeAndBlocks()
    {
        _f.Write(0, new byte[1000]);

        Stat st = _f.ToStat();

        Assert.Equal(1000, st.st_size);
        Assert.Equal(2, st.st_blocks);
        Assert.Equal(_fs.Device, st.st_dev);
        Assert.Equal(_f.Ino, st.st_ino);
        Assert.Equal(Stat.S_IFREG | 0x1A4u, st.st_mode);
        Assert.Equal(1000u, st.st_uid);
    }
}
