using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>mmap(2), munmap(2), mprotect(2) and brk(2) on the VMA set.</summary>
internal sealed partial class MemoryManager
{
    private const int ValidProt = Mman.PROT_READ | Mman.PROT_WRITE | Mman.PROT_EXEC | Mman.PROT_GROWSDOWN | Mman.PROT_GROWSUP;

    /// <summary>
    /// Maps anonymous memory; a file mapping also names its file (<paramref name="name"/>, and for /proc/PID/maps
    /// its <paramref name="origin"/> and the <paramref name="fileOffset"/> it starts at), then fills the memory.
    /// Returns the address or -errno.
    /// </summary>
    /// <remarks>Preconditions: the caller has checked that length is non-zero and flags name a mapping type.</remarks>
    public long MmapAnonymous(ulong addr, ulong length, int prot, int flags, string? name = null, MappedFileId? origin = null, ulong fileOffset = 0)
    {
        // Linux's mmap ignores protection bits it does not know; only R, W and X matter here.
        ulong len = PageUp(length);
        if (len == 0 || len > MaxAddress)
        {
            return -Errno.ENOMEM.Value;
        }

        bool fixedNoReplace = (flags & Mman.MAP_FIXED_NOREPLACE) != 0;
        bool fixedAddr = (flags & Mman.MAP_FIXED) != 0 || fixedNoReplace;
        if (fixedAddr)
        {
            if ((addr & (Mman.PageSize - 1)) != 0)
            {
                return -Errno.EINVAL.Value;
            }

            if (addr + len < addr || addr + len > MaxAddress)
            {
                return -Errno.ENOMEM.Value;
            }

            if (addr < MinAddress)
            {
                return -Errno.EPERM.Value;
            }
        }

        bool shared = (flags & Mman.MAP_TYPE) != Mman.MAP_PRIVATE;
        bool growsDown = (flags & Mman.MAP_GROWSDOWN) != 0;
        int effectiveProt = prot & (Mman.PROT_READ | Mman.PROT_WRITE | Mman.PROT_EXEC);
        using (LockExclusive())
        {
            if (fixedNoReplace && _vmas.Overlaps(addr, addr + len))
            {
                return -Errno.EEXIST.Value;
            }

            ulong replaced = fixedAddr ? OverlapBytesLocked(addr, addr + len) : 0;
            if (_mappedBytes - replaced + len > AddressSpaceLimit)
            {
                return -Errno.ENOMEM.Value;
            }

            if (fixedAddr)
            {
                long r = UnmapLocked(addr, addr + len);
                SyncOwnersLocked();
                if (r < 0)
                {
                    return r;
                }
            }
            else
            {
                addr = FindUnmappedLocked(addr, len);
                if (addr == 0)
                {
                    return -Errno.ENOMEM.Value;
                }
            }

            InsertVmaLocked(new Vma(addr, addr + len, effectiveProt, Mman.PROT_READ | Mman.PROT_WRITE | Mman.PROT_EXEC, shared, growsDown, VmaKind.Anonymous, name)
            {
                Origin = origin,
                FileOffset = origin == null ? 0 : fileOffset,
            });
            if (origin?.Holder is { } holder)
            {
                HoldFileLocked(holder);
            }
            return (long)addr;
        }
    }

    /// <summary>Implements munmap(2). Returns 0 or -errno.</summary>
    public long Munmap(ulong addr, ulong length)
    {
        if ((addr & (Mman.PageSize - 1)) != 0 || length == 0)
        {
            return -Errno.EINVAL.Value;
        }

        // Linux checks the range against TASK_SIZE, so unmapping the whole user range is valid. Nothing of the
        // app's lies above MaxAddress (the stub's code, sysmsg regions and vDSO do): the unmap stops there.
        ulong len = PageUp(length);
        if (addr > TaskSize || len == 0 || len > TaskSize - addr)
        {
            return -Errno.EINVAL.Value;
        }

        ulong end = System.Math.Min(addr + len, MaxAddress);
        if (addr >= end)
        {
            return 0;
        }

        using (LockExclusive())
        {
            long r = UnmapLocked(addr, end);
            SyncOwnersLocked();
            return r;
        }
    }

    /// <summary>
    /// Marks [start, end) of a new file mapping as past the end of its file (page-aligned): Linux raises
    /// SIGBUS there rather than handing out zeros. Its memory is released: nothing may ever read it. A shared
    /// mapping of a Sentry file names the <paramref name="file"/> (and where <paramref name="start"/> falls in
    /// it), for all of its length: a page it lacks (past the end when mapped, or dropped since by a truncate
    /// or a hole) is asked of the file at the fault.
    /// </summary>
    public void MarkBeyondEof(ulong start, ulong end, ISharedFilePages? file = null, ulong fileOffset = 0)
    {
        if (start >= end)
        {
            return;
        }

        lock (_mu)
        {
            _vmas.SplitAt(start);
            _vmas.SplitAt(end);
            for (int i = _vmas.IndexOf(start); i >= 0 && i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                Vma v = _vmas[i];
                _vmas.Replace(i, file == null ? v with { Kind = VmaKind.BeyondEof } : v with { Kind = VmaKind.BeyondEof, File = file, FileOffset = fileOffset + (v.Start - start) });
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="prot"/> bits out of what [start, end) of a new mapping may ever get (a file of a
    /// noexec mount: mprotect(PROT_EXEC) then answers EACCES, as Linux's cleared VM_MAYEXEC makes it).
    /// </summary>
    public void DropMaxProt(ulong start, ulong end, int prot)
    {
        lock (_mu)
        {
            _vmas.SplitAt(start);
            _vmas.SplitAt(end);
            for (int i = _vmas.IndexOf(start); i >= 0 && i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                _vmas.Replace(i, _vmas[i] with { MaxProt = _vmas[i].MaxProt & ~prot });
            }
        }
    }

    /// <summary>Implements mprotect(2). Returns 0 or -errno.</summary>
    public long Mprotect(ulong addr, ulong length, int prot)
    {
        const int ProtSem = 0x8; // accepted and meaningless on x86 (arch_validate_prot)
        if ((addr & (Mman.PageSize - 1)) != 0 || (prot & ~(ValidProt | ProtSem)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((prot & Mman.PROT_GROWSDOWN) != 0 && (prot & Mman.PROT_GROWSUP) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (length == 0)
        {
            return 0;
        }

        ulong end = addr + PageUp(length);
        if (end <= addr)
        {
            return -Errno.ENOMEM.Value;
        }

        int newProt = prot & (Mman.PROT_READ | Mman.PROT_WRITE | Mman.PROT_EXEC);
        lock (_mu)
        {
            int i = _vmas.IndexOf(addr);
            if (i < 0)
            {
                return -Errno.ENOMEM.Value;
            }

            _vmas.SplitAt(addr);
            _vmas.SplitAt(end);
            i = _vmas.IndexOf(addr);
            ulong cursor = addr;
            long result = 0;
            for (; i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                Vma v = _vmas[i];
                if (v.Start != cursor)
                {
                    result = -Errno.ENOMEM.Value; // a hole: Linux stops here, keeping what it changed
                    break;
                }

                if ((newProt & ~v.MaxProt) != 0)
                {
                    result = -Errno.EACCES.Value;
                    break;
                }

                _vmas.Replace(i, v with { Prot = newProt });
                cursor = v.End;
            }

            if (cursor < end && result == 0)
            {
                result = -Errno.ENOMEM.Value;
            }

            // A split of an owned VMA counts as one more attachment, as in Linux.
            SyncOwnersLocked();

            // Drop the host mappings; the next touch maps again with the new protection.
            if (cursor > addr && HostMayMapLocked(addr, cursor))
            {
                long r = UnmapHostLocked(addr, cursor - addr);
                if (r < 0)
                {
                    return r;
                }
            }

            return result;
        }
    }

    /// <summary>Implements brk(2): returns the new break, or the old one if it cannot move.</summary>
    public ulong Brk(ulong addr)
    {
        using (LockExclusive())
        {
            if (addr < _brkStart)
            {
                return _brk;
            }

            ulong oldEnd = PageUp(_brk);
            ulong newEnd = PageUp(addr);
            if (newEnd < addr || newEnd > MaxAddress)
            {
                return _brk;
            }

            if (newEnd < oldEnd)
            {
                if (UnmapLocked(newEnd, oldEnd) < 0)
                {
                    return _brk;
                }
            }
            else if (newEnd > oldEnd)
            {
                if (_vmas.Overlaps(oldEnd, newEnd) || _mappedBytes + (newEnd - oldEnd) > AddressSpaceLimit)
                {
                    return _brk;
                }

                int prev = _vmas.IndexOf(oldEnd - 1);
                if (prev >= 0 && _vmas[prev].Name == "[heap]" && _vmas[prev].Prot == (Mman.PROT_READ | Mman.PROT_WRITE) && !_vmas[prev].Shared && !_vmas[prev].GrowsDown)
                {
                    Vma heap = _vmas[prev];
                    _vmas.Replace(prev, heap with { End = newEnd });
                    _mappedBytes += newEnd - oldEnd;
                }
                else
                {
                    InsertVmaLocked(new Vma(oldEnd, newEnd, Mman.PROT_READ | Mman.PROT_WRITE, Mman.PROT_READ | Mman.PROT_WRITE | Mman.PROT_EXEC, false, false, VmaKind.Anonymous, "[heap]"));
                }
            }

            _brk = addr;
            return _brk;
        }
    }

    /// <summary>
    /// Implements madvise(2)'s range check and MADV_DONTNEED: private memory in the range is freed and reads
    /// back as zeros. Returns 0, -ENOMEM if part of the range is unmapped, or -EINVAL.
    /// </summary>
    public long Madvise(ulong addr, ulong length, bool dontNeed)
    {
        if ((addr & (Mman.PageSize - 1)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (length != 0 && PageUp(length) == 0)
        {
            return -Errno.EINVAL.Value;
        }

        ulong end = addr + PageUp(length);
        if (end < addr)
        {
            return -Errno.EINVAL.Value;
        }

        if (end == addr)
        {
            return 0;
        }

        using (LockExclusive())
        {
            ulong cursor = addr;
            for (int i = _vmas.FirstEndingAfter(addr); i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                if (_vmas[i].Start > cursor)
                {
                    break;
                }

                cursor = _vmas[i].End;
            }

            if (cursor < end)
            {
                return -Errno.ENOMEM.Value;
            }

            if (dontNeed)
            {
                // Private memory is dropped and reads back as zeros; shared memory (anonymous or a file's)
                // keeps its data, as in Linux: only the host mapping goes, and the next touch maps it again.
                // The host lets go of the pages first: freed pages may go to another process at once.
                long r = HostMayMapLocked(addr, end) ? UnmapHostLocked(addr, end - addr) : 0;
                if (r < 0)
                {
                    return r;
                }

                _scratchPmas.Clear();
                for (int i = _vmas.FirstEndingAfter(addr); i < _vmas.Count && _vmas[i].Start < end; i++)
                {
                    if (!_vmas[i].Shared)
                    {
                        _pmas.Remove(System.Math.Max(addr, _vmas[i].Start), System.Math.Min(end, _vmas[i].End), _scratchPmas);
                    }
                }

                foreach (Pma p in _scratchPmas)
                {
                    MemoryFile.Free(p.FileOffset, p.End - p.Start);
                }

                _scratchPmas.Clear();
            }

            return 0;
        }
    }

    // Preconditions: _mu is held.
    private ulong OverlapBytesLocked(ulong start, ulong end)
    {
        AssertLocked();
        ulong total = 0;
        for (int i = _vmas.FirstEndingAfter(start); i < _vmas.Count && _vmas[i].Start < end; i++)
        {
            Vma v = _vmas[i];
            total += System.Math.Min(v.End, end) - System.Math.Max(v.Start, start);
        }

        return total;
    }
}
