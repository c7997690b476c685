using System;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Mm;

/// <summary>Runs alone: its racing threads spin on both cores, which would starve the timing tests beside it.</summary>
[CollectionDefinition(nameof(MemoryManagerPinTests), DisableParallelization = true)]
public sealed class MemoryManagerPinTestsCollection
{
}

/// <summary>
/// A copy through <see cref="MemoryManager.Translate"/>'s pointer keeps its pages: a sibling thread's munmap,
/// MADV_DONTNEED or copy-on-write break cannot free them (and the allocator hand them to another process)
/// until the copy ends.
/// </summary>
[Collection(nameof(MemoryManagerPinTests))]
public sealed unsafe class MemoryManagerPinTests : IDisposable
{
    private const ulong MinAddr = 0x10000;
    private const ulong MaxAddr = 0x7f00_0000_0000;
    private const ulong Fixed = 0x4000_0000;
    private const ulong Huge = Mman.HugePageSize;
    private const int RW = Mman.PROT_READ | Mman.PROT_WRITE;
    private const int Private = Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS;

    private readonly MemoryFile _mf = new();
    private readonly MemoryManager _a;
    private readonly MemoryManager _b;

    public MemoryManagerPinTests()
    {
        _a = new MemoryManager(_mf, new FakeAddressSpace(), MinAddr, MaxAddr) { MmapBase = 0x7e00_0000_0000 };
        _b = new MemoryManager(_mf, new FakeAddressSpace(), MinAddr, MaxAddr) { MmapBase = 0x7e00_0000_0000 };
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _mf.Dispose();
    }

    [Fact]
    public void Munmap_WaitsForAPinnedCopy_AndItsPagesGoToNobodyMeanwhile()
    {
        Assert.Equal((long)Fixed, _a.MmapAnonymous(Fixed, Huge, RW, Private | Mman.MAP_FIXED));
        long n = _a.Translate(Fixed, Huge, AccessType.Write, out byte* p, out MemoryManager.Pinned pin);
        Assert.Equal((long)Huge, n);
        ulong usage = _mf.AllocatedBytes;

        var unmapped = new ManualResetEventSlim();
        var unmapper = new Thread(() =>
        {
            _a.Munmap(Fixed, Huge);
            unmapped.Set();
        });
        unmapper.Start();
        Assert.False(unmapped.Wait(200), "munmap must wait for the copy");

        // Another process allocates meanwhile (on a thread of its own: a pin holder calls into no address
        // space): it must get other pages.
        long bAddr = 0;
        long filled = -1;
        var other = new Thread(() =>
        {
            bAddr = _b.MmapAnonymous(0, 4 * Huge, RW, Private);
            filled = FillWithCanary(_b, (ulong)bAddr, 4 * Huge);
        });
        other.Start();
        Assert.True(other.Join(5000));
        Assert.Equal(0, filled);

        // The copy goes on writing through its pointer.
        new Span<byte>(p, (int)n).Fill(0xAA);
        pin.Dispose();
        Assert.True(unmapped.Wait(5000), "munmap must finish once the copy ends");
        unmapper.Join();

        Assert.Equal(usage + (4 * Huge) - Huge, _mf.AllocatedBytes);
        Assert.True(HasCanary(_b, (ulong)bAddr, 4 * Huge));
    }

    [Fact]
    public void Copies_Pin_OnlyAgainstFreeing_NotAgainstEachOther()
    {
        Assert.Equal((long)Fixed, _a.MmapAnonymous(Fixed, Huge, RW, Private | Mman.MAP_FIXED));
        Assert.True(_a.Translate(Fixed, 8, AccessType.Write, out _, out MemoryManager.Pinned first) > 0);
        using (first)
        {
            // A second copy by another thread, and a fault, go ahead while the first copy runs.
            long second = -1;
            var t = new Thread(() =>
            {
                second = _a.CopyOut(Fixed + 64, [1, 2, 3]);
                second = second == 0 ? _a.HandleFault(Fixed + Huge - 1, hostSaysAccessError: false) : second;
            });
            t.Start();
            Assert.True(t.Join(5000));
            Assert.Equal(0, second);
        }
    }

    [Fact]
    public void MunmapRacingLargeCopies_NeverWritesIntoAnotherProcess()
    {
        // Thread 1 copies 0xAA into A's buffer again and again, a page at a time with pauses (a large read(2)
        // from a slow file); thread 2 unmaps and maps the buffer again and again; this thread allocates fresh
        // memory for process B, checks that it reads as zeros, fills it with a canary and checks that it keeps it.
        const ulong Len = 2 * Huge;
        Assert.Equal((long)Fixed, _a.MmapAnonymous(Fixed, Len, RW, Private | Mman.MAP_FIXED));
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500));
        var copier = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                for (ulong off = 0; off < Len; off += Huge)
                {
                    long n = _a.Translate(Fixed + off, Huge, AccessType.Write, out byte* p, out MemoryManager.Pinned pin);
                    using (pin)
                    {
                        for (long i = 0; i + (long)Mman.PageSize <= n; i += (long)Mman.PageSize)
                        {
                            new Span<byte>(p + i, (int)Mman.PageSize).Fill(0xAA);
                            Thread.SpinWait(20);
                        }
                    }
                }
            }
        });
        var unmapper = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _a.Munmap(Fixed, Len);
                Thread.Yield();
                _a.MmapAnonymous(Fixed, Len, RW, Private | Mman.MAP_FIXED);
                Thread.Yield();
            }
        });
        copier.Start();
        unmapper.Start();
        int rounds = 0;
        bool ok = true;
        while (!stop.IsCancellationRequested && ok)
        {
            long at = _b.MmapAnonymous(0, Huge, RW, Private);
            ok = ReadsAsZeros(_b, (ulong)at, Huge) && FillWithCanary(_b, (ulong)at, Huge) == 0;
            Thread.Yield();
            ok = ok && HasCanary(_b, (ulong)at, Huge);
            _b.Munmap((ulong)at, Huge);
            rounds++;
        }

        copier.Join();
        unmapper.Join();
        Assert.True(ok, $"process B's memory changed under it (round {rounds})");
    }

    [Fact]
    public void CopyOnWriteBreak_WaitsForACopyReadingTheSharedPage()
    {
        Assert.Equal((long)Fixed, _a.MmapAnonymous(Fixed, Huge, RW, Private | Mman.MAP_FIXED));
        Assert.Equal(0, _a.CopyOut(Fixed, [7]));
        using MemoryManager child = _a.Fork();

        // A copy reads the shared page; a sibling's write needs a copy of its own, whose break drops A's
        // reference to the shared page: it must wait until the read ends.
        Assert.True(_a.Translate(Fixed, 1, AccessType.Read, out byte* p, out MemoryManager.Pinned pin) > 0);
        var written = new ManualResetEventSlim();
        var writer = new Thread(() =>
        {
            _a.CopyOut(Fixed, [9]);
            written.Set();
        });
        writer.Start();
        Assert.False(written.Wait(200), "the copy-on-write break must wait for the copy");
        Assert.Equal(7, *p);
        pin.Dispose();
        Assert.True(written.Wait(5000));
        writer.Join();

        Span<byte> seen = stackalloc byte[1];
        Assert.Equal(0, _a.CopyIn(Fixed, seen));
        Assert.Equal(9, seen[0]);
        Assert.Equal(0, child.CopyIn(Fixed, seen));
        Assert.Equal(7, seen[0]);
    }

    private static long FillWithCanary(MemoryManager mm, ulong addr, ulong length)
    {
        byte[] canary = new byte[length];
        Array.Fill(canary, (byte)0x55);
        return mm.CopyOut(addr, canary);
    }

    private static bool HasCanary(MemoryManager mm, ulong addr, ulong length)
    {
        byte[] seen = new byte[length];
        return mm.CopyIn(addr, seen) == 0 && Array.TrueForAll(seen, b => b == 0x55);
    }

    private static bool ReadsAsZeros(MemoryManager mm, ulong addr, ulong length)
    {
        byte[] seen = new byte[length];
        return mm.CopyIn(addr, seen) == 0 && Array.TrueForAll(seen, b => b == 0);
    }
}
