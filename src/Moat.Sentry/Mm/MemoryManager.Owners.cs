using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>
/// Mappings with an owner that counts them (SysV shm attachments): mapping one over MemoryFile pages the owner
/// holds, detaching it by its address, and reporting to each owner how many VMAs reference it.
/// </summary>
internal sealed partial class MemoryManager
{
    // Per owner, how many VMAs referenced it at the last sync; null while this memory never held an owned VMA,
    // so other address spaces pay nothing. Protected by _mu.
    private Dictionary<IMappingOwner, int>? _ownerCounts;
    private Dictionary<IMappingOwner, int>? _ownerScratch;

    /// <summary>
    /// Maps [fileOffset, fileOffset+length) of the MemoryFile shared at <paramref name="addr"/> (anywhere when 0),
    /// as a VMA owned by <paramref name="owner"/>; with <paramref name="replace"/> a fixed address may replace
    /// what is there, otherwise an overlap is EINVAL (shmat without SHM_REMAP). Returns the address or -errno.
    /// </summary>
    /// <remarks>Preconditions: addr, length and fileOffset are page-aligned; length is non-zero; the caller
    /// keeps the pages alive until this returns (the mapping then holds its own reference).</remarks>
    public long MapOwned(ulong addr, ulong length, int prot, int maxProt, bool replace, long fileOffset, IMappingOwner owner, string name)
    {
        using (LockExclusive())
        {
            if (addr != 0)
            {
                if (addr + length < addr || addr + length > MaxAddress || addr < MinAddress)
                {
                    return -Errno.EINVAL.Value;
                }

                if (_vmas.Overlaps(addr, addr + length))
                {
                    if (!replace)
                    {
                        return -Errno.EINVAL.Value;
                    }
                }

                ulong replaced = OverlapBytesLocked(addr, addr + length);
                if (_mappedBytes - replaced + length > AddressSpaceLimit)
                {
                    return -Errno.ENOMEM.Value;
                }

                long r = UnmapLocked(addr, addr + length);
                if (r < 0)
                {
                    SyncOwnersLocked();
                    return r;
                }
            }
            else
            {
                if (_mappedBytes + length > AddressSpaceLimit)
                {
                    return -Errno.ENOMEM.Value;
                }

                addr = FindUnmappedLocked(0, length);
                if (addr == 0)
                {
                    return -Errno.ENOMEM.Value;
                }
            }

            InsertVmaLocked(new Vma(addr, addr + length, prot, maxProt, true, false, VmaKind.Anonymous, name) { Owner = owner });
            MemoryFile.IncRef(fileOffset, length);
            _pmas.Insert(new Pma(addr, addr + length, fileOffset));
            _ownerCounts ??= [];
            SyncOwnersLocked();
            return (long)addr;
        }
    }

    /// <summary>
    /// Implements the memory half of shmdt(2): finds the first owned VMA at or above <paramref name="addr"/> that
    /// was mapped at <paramref name="addr"/> (its start minus its offset), then unmaps every VMA of that owner,
    /// mapped there, within the owner's <paramref name="sizeOf"/> bytes. Returns 0 or -EINVAL when there is none.
    /// </summary>
    public long UnmapOwned(ulong addr, System.Func<IMappingOwner, ulong> sizeOf)
    {
        using (LockExclusive())
        {
            if (_ownerCounts == null)
            {
                return -Errno.EINVAL.Value;
            }

            IMappingOwner? owner = null;
            for (int i = _vmas.FirstEndingAfter(addr); i < _vmas.Count; i++)
            {
                Vma v = _vmas[i];
                if (v.Owner != null && v.Start >= addr && v.Start - addr == v.OwnerOffset)
                {
                    owner = v.Owner;
                    break;
                }
            }

            if (owner == null)
            {
                return -Errno.EINVAL.Value;
            }

            ulong end = addr + PageUp(sizeOf(owner));
            if (end < addr)
            {
                end = MaxAddress;
            }

            // Collect first: unmapping changes the set.
            var ranges = new List<(ulong Start, ulong End)>();
            for (int i = _vmas.FirstEndingAfter(addr); i < _vmas.Count && _vmas[i].End <= end; i++)
            {
                Vma v = _vmas[i];
                if (v.Owner == owner && v.Start - addr == v.OwnerOffset)
                {
                    ranges.Add((v.Start, v.End));
                }
            }

            foreach ((ulong s, ulong e) in ranges)
            {
                UnmapLocked(s, e);
            }

            SyncOwnersLocked();
            return 0;
        }
    }

    // Tells each owner how many more or fewer of our VMAs reference it since the last sync.
    // Preconditions: _mu is held.
    // Also lets go of files no VMA shows any more (every unmap ends here).
    private void SyncOwnersLocked()
    {
        AssertLocked();
        SweepHeldFilesLocked();
        Dictionary<IMappingOwner, int>? before = _ownerCounts;
        if (before == null)
        {
            return;
        }

        Dictionary<IMappingOwner, int> now = _ownerScratch ??= [];
        now.Clear();
        for (int i = 0; i < _vmas.Count; i++)
        {
            IMappingOwner? o = _vmas[i].Owner;
            if (o != null)
            {
                now[o] = now.GetValueOrDefault(o) + 1;
            }
        }

        foreach (KeyValuePair<IMappingOwner, int> kv in now)
        {
            int old = before.GetValueOrDefault(kv.Key);
            if (kv.Value > old)
            {
                kv.Key.Attached(kv.Value - old);
            }
            else if (kv.Value < old)
            {
                kv.Key.Detached(old - kv.Value);
            }
        }

        foreach (KeyValuePair<IMappingOwner, int> kv in before)
        {
            if (!now.ContainsKey(kv.Key))
            {
                kv.Key.Detached(kv.Value);
            }
        }

        _ownerScratch = before;
        _ownerCounts = now;
    }

    // Reports every owned VMA as gone (the last user of this memory left: exit or execve).
    // Preconditions: _mu is held exclusively (no copy in flight).
    private void DetachAllOwnersLocked()
    {
        AssertExclusive();
        if (_ownerCounts == null)
        {
            return;
        }

        foreach (KeyValuePair<IMappingOwner, int> kv in _ownerCounts)
        {
            kv.Key.Detached(kv.Value);
        }

        _ownerCounts.Clear();
    }
}
