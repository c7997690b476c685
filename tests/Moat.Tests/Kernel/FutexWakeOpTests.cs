using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;
using Moat.Tests.Mm;

namespace Moat.Tests.Kernel;

public sealed class FutexWakeOpTests : IDisposable
{
    private const ulong Addr = 0x4000_0000;
    private const int RW = Mman.PROT_READ | Mman.PROT_WRITE;

    private readonly MemoryFile _mf = new();
    private readonly MemoryManager _mm;

    public FutexWakeOpTests()
    {
        _mm = new MemoryManager(_mf, new FakeAddressSpace(), 0x10000, 0x7f00_0000_0000);
        Assert.Equal((long)Addr, _mm.MmapAnonymous(Addr, Mman.PageSize, RW, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED));
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    // FUTEX_OP(op, oparg, cmp, cmparg) from linux/futex.h.
    private static FutexWakeOp Op(int op, int oparg, int cmp, int cmparg) =>
        new((uint)(((op & 0xf) << 28) | ((cmp & 0xf) << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff)));

    private uint Word
    {
        get
        {
            Assert.Equal(0, _mm.CopyIn(Addr, out uint v));
            return v;
        }

        set => Assert.Equal(0, _mm.CopyOut(Addr, value));
    }

    [Theory]
    [InlineData(0, 5, 5u)] // set
    [InlineData(1, 5, 15u)] // add
    [InlineData(2, 5, 15u)] // or
    [InlineData(3, 2, 8u)] // andn
    [InlineData(4, 3, 9u)] // xor
    [InlineData(1, -11, 0xffffffffu)] // add of a sign-extended operand wraps
    [InlineData(8, 4, 16u)] // set with the shift flag: 1 << 4
    [InlineData(10, 36, 26u)] // or with a shift past 31: masked to 1 << 4
    public void Apply_ChangesTheWord(int op, int oparg, uint expected)
    {
        Word = 10;
        Assert.Equal(0, Op(op, oparg, 0, 0).Apply(_mm, Addr, out _));
        Assert.Equal(expected, Word);
    }

    [Theory]
    [InlineData(0, 10, true)] // eq
    [InlineData(1, 10, false)] // ne
    [InlineData(2, 11, true)] // lt
    [InlineData(3, 10, true)] // le
    [InlineData(4, 10, false)] // gt
    [InlineData(5, 10, true)] // ge
    [InlineData(4, -1, true)] // gt compares signed: 10 > -1
    public void Apply_ComparesTheOldValue(int cmp, int cmparg, bool expected)
    {
        Word = 10;
        Assert.Equal(0, Op(1, 1, cmp, cmparg).Apply(_mm, Addr, out bool condition));
        Assert.Equal(expected, condition);
    }

    [Fact]
    public void Apply_UnknownOperation_IsEnosysAndLeavesTheWord()
    {
        Word = 10;
        Assert.Equal(-Errno.ENOSYS.Value, Op(5, 1, 0, 0).Apply(_mm, Addr, out _));
        Assert.Equal(10u, Word);
    }

    [Fact]
    public void Apply_UnknownComparison_IsEnosysAfterTheOperation()
    {
        Word = 10;
        Assert.Equal(-Errno.ENOSYS.Value, Op(1, 1, 6, 0).Apply(_mm, Addr, out _));
        Assert.Equal(11u, Word);
    }

    [Fact]
    public void Apply_Unmapped_IsEfault()
    {
        Assert.Equal(-Errno.EFAULT.Value, Op(1, 1, 0, 0).Apply(_mm, Addr + Mman.PageSize, out _));
    }
}
