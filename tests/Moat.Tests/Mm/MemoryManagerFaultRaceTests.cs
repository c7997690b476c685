using System;
using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Mm;

/// <summary>
/// Protection faults that another thread has already resolved (two threads writing the same copy-on-write
/// block: the first copies it, the second's fault arrives after) must be retried, not turned into SIGSEGV.
/// </summary>
public sealed class MemoryManagerFaultRaceTests : IDisposable
{
    private const ulong MinAddr = 0x10000;
    private const ulong MaxAddr = 0x7f00_0000_0000;

    private readonly MemoryFile _mf = new();
    private readonly FakeAddressSpace _as = new();
    private readonly MemoryManager _mm;

    public MemoryManagerFaultRaceTests()
    {
        _mm = new MemoryManager(_mf, _as, MinAddr, MaxAddr) { MmapBase = 0x7e00_0000_0000 };
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    [Fact]
    public void HandleFault_StaleAccessErrorInWritableMemory_IsRetriedThenGivenUp()
    {
        long addr = _mm.MmapAnonymous(0, 0x10000, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
        Assert.Equal(0, _mm.HandleFault((ulong)addr, hostSaysAccessError: false));

        // The PMA is not copy-on-write and the VMA allows writing: the host's view was stale.
        Assert.Equal(0, _mm.HandleFault((ulong)addr + 8, hostSaysAccessError: true, ip: 0x400000));
        Assert.Equal(0, _mm.HandleFault((ulong)addr + 8, hostSaysAccessError: true, ip: 0x400000));
        Assert.Equal(0, _mm.HandleFault((ulong)addr + 8, hostSaysAccessError: true, ip: 0x400000));

        // The same address faulting again and again is a real protection fault.
        Assert.Equal(SigInfo.SEGV_ACCERR, _mm.HandleFault((ulong)addr + 8, hostSaysAccessError: true, ip: 0x400000));
    }

    [Fact]
    public void HandleFault_AccessErrorInReadOnlyMemory_IsTheAppsFault()
    {
        long addr = _mm.MmapAnonymous(0, 0x1000, Mman.PROT_READ, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
        Assert.Equal(0, _mm.HandleFault((ulong)addr, hostSaysAccessError: false));
        Assert.Equal(SigInfo.SEGV_ACCERR, _mm.HandleFault((ulong)addr, hostSaysAccessError: true, ip: 0x400000));
    }

    [Fact]
    public void HandleFault_ExecutingNonExecutableMemory_IsTheAppsFault()
    {
        long addr = _mm.MmapAnonymous(0, 0x1000, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
        Assert.Equal(0, _mm.HandleFault((ulong)addr, hostSaysAccessError: false));
        Assert.Equal(SigInfo.SEGV_ACCERR, _mm.HandleFault((ulong)addr, hostSaysAccessError: true, ip: (ulong)addr));
    }

    [Fact]
    public void HandleFault_CopyOnWriteAfterFork_CopiesForTheWriter()
    {
        long addr = _mm.MmapAnonymous(0, 0x1000, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
        Assert.Equal(0, _mm.CopyOut((ulong)addr, [1, 2, 3]));
        using MemoryManager child = _mm.Fork();

        // The parent writes: its copy changes, the child's does not.
        Assert.Equal(0, _mm.HandleFault((ulong)addr, hostSaysAccessError: true, ip: 0x400000));
        Assert.Equal(0, _mm.CopyOut((ulong)addr, [9]));
        Span<byte> seen = stackalloc byte[1];
        Assert.Equal(0, child.CopyIn((ulong)addr, seen));
        Assert.Equal(1, seen[0]);
    }
}
