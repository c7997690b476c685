using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Platform;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Mm;

/// <summary>
/// An application address space as the Sentry sees it: VMAs (what may be mapped), PMAs (which MemoryFile
/// pages back them), and the platform address space that mirrors the PMAs lazily, on faults.
///
/// Lock order: _mu &gt; MemoryFile._mu. The platform address space is only touched with _mu held.
/// </summary>
internal sealed partial class MemoryManager : IDisposable
{
    /// <summary>Private anonymous memory is allocated in aligned units of this size around a fault.</summary>
    public const ulong PrivateAllocUnit = Mman.HugePageSize;

    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly SegmentSet<Vma> _vmas = new();
    private readonly SegmentSet<Pma> _pmas = new();
    private readonly List<Pma> _scratchPmas = [];
    private ulong _mappedBytes;
    private ulong _brkStart;
    private ulong _brk;

    public MemoryManager(MemoryFile memoryFile, IAddressSpace addressSpace, ulong minAddress, ulong maxAddress)
    {
        MemoryFile = memoryFile;
        AddressSpace = addressSpace;
        MinAddress = minAddress;
        MaxAddress = maxAddress;
        MmapBase = maxAddress;
    }

    public MemoryFile MemoryFile { get; }

    public IAddressSpace AddressSpace { get; }

    public ulong MinAddress { get; }

    public ulong MaxAddress { get; }

    /// <summary>Top-down mmap allocations start below this address. Set by the loader.</summary>
    public ulong MmapBase { get; set; }

    /// <summary>RLIMIT_AS in bytes.</summary>
    public ulong AddressSpaceLimit { get; set; } = ulong.MaxValue;

    /// <summary>Sum of VMA lengths.</summary>
    public ulong MappedBytes
    {
        get
        {
            lock (_mu)
            {
                return _mappedBytes;
            }
        }
    }

    public static ulong PageDown(ulong a) => a & ~(Mman.PageSize - 1);

    public static ulong PageUp(ulong a) => (a + Mman.PageSize - 1) & ~(Mman.PageSize - 1);

    /// <summary>Sets where the heap starts (just above the program image, plus a random gap).</summary>
    public void SetBrkStart(ulong start)
    {
        lock (_mu)
        {
            _brkStart = start;
            _brk = start;
        }
    }

    public void Dispose()
    {
        lock (_mu)
        {
            _scratchPmas.Clear();
            _pmas.Remove(0, ulong.MaxValue, _scratchPmas);
            foreach (Pma p in _scratchPmas)
            {
                MemoryFile.Free(p.FileOffset, p.End - p.Start);
            }

            _scratchPmas.Clear();
        }

        AddressSpace.Dispose();
    }

    // Removes VMAs, PMAs and host mappings of [start, end).
    // Preconditions: _mu is held; start and end are page-aligned.
    private long UnmapLocked(ulong start, ulong end)
    {
        if (!_vmas.Overlaps(start, end))
        {
            return 0;
        }

        var removedVmas = new List<Vma>();
        _vmas.Remove(start, end, removedVmas);
        foreach (Vma v in removedVmas)
        {
            _mappedBytes -= v.Length;
        }

        _scratchPmas.Clear();
        _pmas.Remove(start, end, _scratchPmas);
        foreach (Pma p in _scratchPmas)
        {
            MemoryFile.Free(p.FileOffset, p.End - p.Start);
        }

        _scratchPmas.Clear();
        return AddressSpace.Unmap(start, end - start);
    }

    // Finds a free range of length bytes, trying the hint first, then top-down from MmapBase.
    // Preconditions: _mu is held; length is page-aligned and non-zero.
    private ulong FindUnmappedLocked(ulong hint, ulong length)
    {
        if (hint != 0)
        {
            ulong h = PageDown(hint);
            if (h >= MinAddress && h + length <= MaxAddress && h + length > h && !_vmas.Overlaps(h, h + length))
            {
                return h;
            }
        }

        ulong top = Math.Min(MmapBase, MaxAddress);
        int i = _vmas.FirstEndingAfter(top) - 1;
        if (i + 1 < _vmas.Count && _vmas[i + 1].Start < top)
        {
            top = _vmas[i + 1].Start;
        }

        for (; i >= 0; i--)
        {
            Vma v = _vmas[i];
            if (top >= v.End && top - v.End >= length)
            {
                return top - length;
            }

            top = Math.Min(top, v.Start);
        }

        if (top >= MinAddress && top - MinAddress >= length)
        {
            return top - length;
        }

        // Nothing below the base: try above it, bottom-up.
        ulong bottom = MmapBase;
        for (int j = _vmas.FirstEndingAfter(bottom); j < _vmas.Count; j++)
        {
            Vma v = _vmas[j];
            if (v.Start >= bottom && v.Start - bottom >= length)
            {
                return bottom;
            }

            bottom = Math.Max(bottom, v.End);
        }

        return MaxAddress >= bottom && MaxAddress - bottom >= length ? bottom : 0;
    }

    // Inserts a VMA into a hole.
    // Preconditions: _mu is held; [v.Start, v.End) is free.
    private void InsertVmaLocked(Vma v)
    {
        _vmas.Insert(v);
        _mappedBytes += v.Length;
    }
}
