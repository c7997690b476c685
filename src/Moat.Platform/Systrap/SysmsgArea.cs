using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Platform.Systrap;

/// <summary>
/// The shared memory through which app threads and the Sentry hand traps back and forth: one memfd, mapped
/// once in the Sentry and, slot by slot, in the stubs (fd 4). Slot <c>s</c> is the region of one app thread
/// and sits at <see cref="StubAddress"/>(s) in whichever stub runs that thread, above every app mapping.
/// </summary>
/// <remarks>
/// The app can read and write its own threads' regions (they are in its address space): nothing in them is
/// trusted. The Sentry only reads registers from them (the app's own values) and checks every pointer
/// it follows against the slot's bounds.
/// </remarks>
internal sealed unsafe class SysmsgArea : IDisposable
{
    /// <summary>Where slot 0 sits in a stub: 4 GiB above the stub page, aligned to the region size.</summary>
    public const ulong StubBase = SystrapStubImage.StubBase + 0x1_0000_0000;

    public const int RegionSize = SystrapStubImage.RegionSize;

    private readonly SafeFdHandle _fd;
    private readonly byte* _base;
    private readonly int _slots;
    private readonly Lock _mu = new();
    private readonly Stack<int> _free = new();
    private int _next;

    private SysmsgArea(SafeFdHandle fd, byte* map, int slots)
    {
        _fd = fd;
        _base = map;
        _slots = slots;
    }

    public SafeFdHandle File => _fd;

    /// <summary>Creates the area with room for <paramref name="slots"/> app threads (sparse until used).</summary>
    public static SysmsgArea Create(int slots)
    {
        SafeFdHandle fd = HostFile.MemfdCreate("moat-sysmsg", out long err);
        if (err < 0)
        {
            throw new InvalidOperationException("memfd_create for sysmsg failed: errno " + (-err).ToString(CultureInfo.InvariantCulture));
        }

        ulong size = (ulong)slots * RegionSize;
        long r = HostFile.Ftruncate(fd.Fd, (long)size);
        if (r < 0)
        {
            fd.Dispose();
            throw new InvalidOperationException("sizing the sysmsg memfd failed: errno " + (-r).ToString(CultureInfo.InvariantCulture));
        }

        long map = HostMemory.Mmap(0, size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd.Fd, 0);
        if (map < 0)
        {
            fd.Dispose();
            throw new InvalidOperationException("mapping the sysmsg memfd failed: errno " + (-map).ToString(CultureInfo.InvariantCulture));
        }

        return new SysmsgArea(fd, (byte*)map, slots);
    }

    public static ulong StubAddress(int slot) => StubBase + ((ulong)slot * RegionSize);

    /// <summary>The Sentry's view of slot <paramref name="slot"/>.</summary>
    public byte* Region(int slot) => _base + ((long)slot * RegionSize);

    /// <summary>Takes a free slot, zeroed, or returns -1 when every slot is in use.</summary>
    public int Allocate()
    {
        int slot;
        lock (_mu)
        {
            if (_free.Count > 0)
            {
                slot = _free.Pop();
            }
            else if (_next < _slots)
            {
                slot = _next++;
            }
            else
            {
                return -1;
            }
        }

        new Span<byte>(Region(slot), SystrapStubImage.HeaderSize).Clear();
        return slot;
    }

    /// <summary>Gives a slot back once no stub maps it any more (its thread gone and the region unmapped, or the stub dead).</summary>
    public void Free(int slot)
    {
        // Return the pages of the old signal frames to the host.
        HostFile.PunchHole(_fd.Fd, (long)slot * RegionSize, RegionSize);
        lock (_mu)
        {
            _free.Push(slot);
        }
    }

    public void Dispose()
    {
        HostMemory.Munmap((nint)_base, (ulong)_slots * RegionSize);
        _fd.Dispose();
    }
}
