using System;
using System.Linq;
using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Mm;

public sealed class MemoryManagerUserfaultTests : IDisposable
{
    private const ulong Page = Mman.PageSize;
    private const ulong Fixed = 0x4000_0000;
    private const int RW = Mman.PROT_READ | Mman.PROT_WRITE;

    private readonly MemoryFile _mf = new();
    private readonly FakeAddressSpace _as = new();
    private readonly MemoryManager _mm;
    private readonly Handler _handler = new();

    public MemoryManagerUserfaultTests()
    {
        _mm = new MemoryManager(_mf, _as, 0x10000, 0x7f00_0000_0000) { MmapBase = 0x7e00_0000_0000 };
        Assert.Equal((long)Fixed, _mm.MmapAnonymous(Fixed, 16 * Page, RW, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED));
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    // Records the waits it is asked for; fills nothing.
    private sealed class Handler : IUserfaultHandler
    {
        public int Waits { get; private set; }

        public long WaitForPage(ulong address, bool write, bool user)
        {
            Waits++;
            return -Errno.EFAULT.Value;
        }
    }

    private IUserfaultHandler?[] Registration() =>
        [.. Enumerable.Range(0, 16).Select(i => _mm.SnapshotVmas().Single(v => v.Start <= Fixed + (ulong)i * Page && v.End > Fixed + (ulong)i * Page).Userfault)];

    [Fact]
    public void UserfaultUnregister_MiddlePage_LeavesBothSidesRegistered()
    {
        Assert.Equal(0, _mm.UserfaultRegister(_handler, Fixed, Fixed + 16 * Page));
        Assert.Equal(0, _mm.UserfaultUnregister(Fixed + 13 * Page, Fixed + 14 * Page));

        IUserfaultHandler?[] r = Registration();
        Assert.All(r.Take(13), h => Assert.Same(_handler, h));
        Assert.Null(r[13]);
        Assert.Same(_handler, r[14]);
        Assert.Same(_handler, r[15]);
    }

    [Fact]
    public void HandleFault_MissingRegisteredPage_IsLeftToTheHandler()
    {
        Assert.Equal(0, _mm.UserfaultRegister(_handler, Fixed + 4 * Page, Fixed + 8 * Page));

        Assert.Equal(0, _mm.HandleFault(Fixed + 5 * Page, false, 0, out IUserfaultHandler? held));
        Assert.Same(_handler, held);
        Assert.Equal(0, _mm.HandleFault(Fixed + 9 * Page, false, 0, out held));
        Assert.Null(held);
    }

    [Fact]
    public void CopyIn_MissingRegisteredPage_WaitsThenFaults()
    {
        Assert.Equal(0, _mm.UserfaultRegister(_handler, Fixed, Fixed + Page));

        Assert.Equal(-Errno.EFAULT.Value, _mm.CopyIn(Fixed + 8, new byte[4]));
        Assert.Equal(1, _handler.Waits);
    }

    [Fact]
    public void UserfaultFill_CopiesOnePage_ThenAnswersEexist()
    {
        Assert.Equal(0, _mm.UserfaultRegister(_handler, Fixed, Fixed + 4 * Page));
        byte[] page = new byte[Page];
        page[7] = 0x42;

        Assert.Equal(0, _mm.UserfaultFill(Fixed + Page, Fixed + 2 * Page, page));
        Assert.Equal(-Errno.EEXIST.Value, _mm.UserfaultFill(Fixed + Page, Fixed + 2 * Page, page));
        byte[] got = new byte[8];
        Assert.Equal(0, _mm.CopyIn(Fixed + Page, got));
        Assert.Equal(0x42, got[7]);
        Assert.False(_mm.UserfaultMustWait(_handler, Fixed + Page));
        Assert.True(_mm.UserfaultMustWait(_handler, Fixed + 2 * Page));
    }

    [Fact]
    public void UserfaultFill_RangePastTheVma_IsEnoent()
    {
        Assert.Equal(0, _mm.UserfaultRegister(_handler, Fixed, Fixed + 4 * Page));

        Assert.Equal(-Errno.ENOENT.Value, _mm.UserfaultFill(Fixed + 3 * Page, Fixed + 5 * Page, default));
        Assert.Equal(-Errno.ENOENT.Value, _mm.UserfaultFill(Fixed + 6 * Page, Fixed + 7 * Page, default));
    }

    [Fact]
    public void Fork_DropsTheRegistration()
    {
        Assert.Equal(0, _mm.UserfaultRegister(_handler, Fixed, Fixed + 16 * Page));

        using MemoryManager child = _mm.Fork();
        Assert.All(child.SnapshotVmas(), v => Assert.Null(v.Userfault));
    }

    [Fact]
    public void UserfaultRegister_OtherHandler_IsEbusy()
    {
        Assert.Equal(0, _mm.UserfaultRegister(_handler, Fixed, Fixed + 2 * Page));

        Assert.Equal(-Errno.EBUSY.Value, _mm.UserfaultRegister(new Handler(), Fixed + Page, Fixed + 3 * Page));
        Assert.Equal(-Errno.EINVAL.Value, _mm.UserfaultRegister(new Handler(), Fixed + 20 * Page, Fixed + 21 * Page));
    }
}
