using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>mremap(2), msync(2) and mincore(2), with Linux's checks in Linux's order.</summary>
internal sealed partial class MemoryManager
{
    /// <summary>Implements mremap(2). Returns the new address or -errno.</summary>
    public long Mremap(ulong addr, ulong oldLen, ulong newLen, int flags, ulong newAddr)
    {
        const int Known = Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED | Mman.MREMAP_DONTUNMAP;
        bool mayMove = (flags & Mman.MREMAP_MAYMOVE) != 0;
        bool fixedAddr = (flags & Mman.MREMAP_FIXED) != 0;
        bool dontUnmap = (flags & Mman.MREMAP_DONTUNMAP) != 0;
        if ((flags & ~Known) != 0 || (fixedAddr && !mayMove) || (dontUnmap && (!mayMove || oldLen != newLen)))
        {
            return -Errno.EINVAL.Value;
        }

        if ((addr & (Mman.PageSize - 1)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        oldLen = PageUp(oldLen);
        newLen = PageUp(newLen);
        if (newLen == 0)
        {
            return -Errno.EINVAL.Value;
        }

        using (LockExclusive())
        {
            try
            {
                return MremapLocked(addr, oldLen, newLen, mayMove, fixedAddr, dontUnmap, newAddr);
            }
            finally
            {
                SyncOwnersLocked();
            }
        }
    }

    // Preconditions: _mu is held exclusively (no copy in flight); the arguments passed mremap's first checks.
    private long MremapLocked(ulong addr, ulong oldLen, ulong newLen, bool mayMove, bool fixedAddr, bool dontUnmap, ulong newAddr)
    {
        AssertExclusive();
        if (_vmas.IndexOf(addr) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (fixedAddr || dontUnmap)
        {
            return RemapToLocked(addr, oldLen, newAddr, newLen, fixedAddr, dontUnmap);
        }

        // Shrinking always works in place: the tail is simply unmapped.
        if (oldLen >= newLen)
        {
            long r = UnmapLocked(addr + newLen, addr + oldLen);
            return r < 0 ? r : (long)addr;
        }

        long check = CheckResizeLocked(addr, oldLen, newLen, out Vma v);
        if (check < 0)
        {
            return check;
        }

        // Grow in place when the range ends the VMA and the space after it is free.
        ulong grow = newLen - oldLen;
        ulong end = addr + oldLen;
        if (end == v.End && end + grow > end && end + grow <= MaxAddress && !_vmas.Overlaps(end, end + grow))
        {
            int i = _vmas.IndexOf(addr);
            _vmas.Replace(i, v with { End = end + grow });
            _mappedBytes += grow;
            return (long)addr;
        }

        if (!mayMove)
        {
            return -Errno.ENOMEM.Value;
        }

        ulong to = FindUnmappedLocked(0, newLen);
        if (to == 0)
        {
            return -Errno.ENOMEM.Value;
        }

        return MoveLocked(addr, oldLen, to, newLen, dontUnmap: false);
    }

    // MREMAP_FIXED / MREMAP_DONTUNMAP (Linux's mremap_to). Preconditions: _mu is held exclusively (no copy in flight).
    private long RemapToLocked(ulong addr, ulong oldLen, ulong newAddr, ulong newLen, bool fixedAddr, bool dontUnmap)
    {
        AssertExclusive();
        if (fixedAddr)
        {
            if ((newAddr & (Mman.PageSize - 1)) != 0 || newLen > MaxAddress || newAddr > MaxAddress - newLen)
            {
                return -Errno.EINVAL.Value;
            }

            if (addr + oldLen > newAddr && newAddr + newLen > addr)
            {
                return -Errno.EINVAL.Value;
            }

            long r = UnmapLocked(newAddr, newAddr + newLen);
            if (r < 0)
            {
                return r;
            }
        }

        if (oldLen > newLen)
        {
            long r = UnmapLocked(addr + newLen, addr + oldLen);
            if (r < 0)
            {
                return r;
            }

            oldLen = newLen;
        }

        long check = CheckResizeLocked(addr, oldLen, newLen, out _);
        if (check < 0)
        {
            return check;
        }

        if (dontUnmap && _mappedBytes + newLen > AddressSpaceLimit)
        {
            return -Errno.ENOMEM.Value;
        }

        ulong to = fixedAddr ? newAddr : FindUnmappedLocked(0, newLen);
        if (to == 0)
        {
            return -Errno.ENOMEM.Value;
        }

        return MoveLocked(addr, oldLen, to, newLen, dontUnmap);
    }

    // Linux's vma_to_resize: the old range must lie in one VMA, and the growth fit the limits.
    // Preconditions: _mu is held.
    private long CheckResizeLocked(ulong addr, ulong oldLen, ulong newLen, out Vma v)
    {
        AssertLocked();
        int i = _vmas.IndexOf(addr);
        v = i >= 0 ? _vmas[i] : default;
        if (i < 0 || oldLen > v.End - addr)
        {
            return -Errno.EFAULT.Value;
        }

        // A zero old length asks to duplicate a shared mapping; for private memory that makes no sense.
        if (oldLen == 0 && !v.Shared)
        {
            return -Errno.EINVAL.Value;
        }

        if (oldLen == 0)
        {
            return -Errno.ENOMEM.Value; // duplicating shared memory this way is not supported
        }

        return newLen > oldLen && _mappedBytes + (newLen - oldLen) > AddressSpaceLimit ? -Errno.ENOMEM.Value : 0;
    }

    // Moves [addr, addr+oldLen) (inside one VMA) to a free [to, to+newLen): the pages go along, no bytes are
    // copied, and the part beyond oldLen is fresh memory of the same kind. Preconditions: _mu is held exclusively (no copy in flight).
    private long MoveLocked(ulong addr, ulong oldLen, ulong to, ulong newLen, bool dontUnmap)
    {
        AssertExclusive();
        ulong oldEnd = addr + oldLen;
        _vmas.SplitAt(addr);
        _vmas.SplitAt(oldEnd);
        Vma piece = _vmas[_vmas.IndexOf(addr)];

        var moved = new List<Pma>();
        _pmas.Remove(addr, oldEnd, moved);
        long r = UnmapHostLocked(addr, oldLen);
        if (r < 0)
        {
            return r;
        }

        if (!dontUnmap)
        {
            _vmas.Remove(addr, oldEnd, null);
            _mappedBytes -= oldLen;
        }

        InsertVmaLocked(piece with { Start = to, End = to + newLen, Userfault = null }); // no UFFD_FEATURE_EVENT_REMAP: the new range is not registered
        foreach (Pma p in moved)
        {
            _pmas.Insert(new Pma(p.Start - addr + to, p.End - addr + to, p.FileOffset, p.Cow));
        }

        return (long)to;
    }

    /// <summary>Implements msync(2)'s checks: the data is memory already, so only holes are reported.</summary>
    public long Msync(ulong addr, ulong length, int flags)
    {
        const int MS_ASYNC = 1;
        const int MS_INVALIDATE = 2;
        const int MS_SYNC = 4;
        if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) != 0 || (addr & (Mman.PageSize - 1)) != 0 ||
            ((flags & MS_ASYNC) != 0 && (flags & MS_SYNC) != 0))
        {
            return -Errno.EINVAL.Value;
        }

        ulong end = addr + PageUp(length);
        if (end < addr)
        {
            return -Errno.ENOMEM.Value;
        }

        return end == addr ? 0 : Covered(addr, end) ? 0 : -Errno.ENOMEM.Value;
    }

    /// <summary>
    /// Implements mincore(2)'s lookup: one byte per page of [addr, addr+pages pages), 1 where memory is
    /// allocated. Returns 0, -EINVAL (unaligned) or -ENOMEM (unmapped, or beyond the address space).
    /// </summary>
    public long Mincore(ulong addr, ulong length, out byte[] vec)
    {
        vec = [];
        if ((addr & (Mman.PageSize - 1)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (length > MaxAddress || addr > MaxAddress - length)
        {
            return -Errno.ENOMEM.Value;
        }

        ulong pages = (length + Mman.PageSize - 1) / Mman.PageSize;
        ulong end = addr + (pages * Mman.PageSize);
        if (pages == 0)
        {
            return 0;
        }

        if (!Covered(addr, end))
        {
            return -Errno.ENOMEM.Value;
        }

        lock (_mu)
        {
            vec = new byte[pages];
            for (int i = _pmas.FirstEndingAfter(addr); i < _pmas.Count && _pmas[i].Start < end; i++)
            {
                ulong from = System.Math.Max(_pmas[i].Start, addr);
                ulong to = System.Math.Min(_pmas[i].End, end);
                for (ulong p = from; p < to; p += Mman.PageSize)
                {
                    vec[(p - addr) / Mman.PageSize] = 1;
                }
            }

            return 0;
        }
    }

    // Whether VMAs cover [start, end) without holes.
    private bool Covered(ulong start, ulong end)
    {
        lock (_mu)
        {
            ulong cursor = start;
            for (int i = _vmas.FirstEndingAfter(start); i < _vmas.Count && _vmas[i].Start <= cursor && cursor < end; i++)
            {
                cursor = _vmas[i].End;
            }

            return cursor >= end;
        }
    }
}
