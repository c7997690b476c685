using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>
/// mlock(2) and friends on the VMA set: which ranges are locked (Linux's VM_LOCKED) and how many bytes that is
/// (mm->locked_vm). App memory is never paged out by the Sentry, so locking changes accounting only.
/// </summary>
internal sealed partial class MemoryManager
{
    // Protected by _mu. mlockall(MCL_FUTURE): VMAs created from now on are locked (mm->def_flags).
    private bool _lockFuture;

    /// <summary>Whether mlockall(MCL_FUTURE) is in force: new mappings are locked.</summary>
    public bool LocksFuture
    {
        get
        {
            lock (_mu)
            {
                return _lockFuture;
            }
        }
    }

    /// <summary>Bytes of locked VMAs (VmLck).</summary>
    public ulong LockedBytes
    {
        get
        {
            lock (_mu)
            {
                return LockedBytesLocked(0, ulong.MaxValue);
            }
        }
    }

    /// <summary>
    /// Locks or unlocks [start, start+length) (page-aligned by the caller), as Linux's do_mlock and
    /// apply_vma_lock_flags: with a lock, the bytes newly locked plus those already locked must stay within
    /// <paramref name="limit"/> unless <paramref name="unlimited"/> (CAP_IPC_LOCK), else ENOMEM; a hole in the
    /// range answers ENOMEM after the VMAs before it changed. With <paramref name="populate"/> (mlock without
    /// MLOCK_ONFAULT) a PROT_NONE VMA in the range is locked but answers ENOMEM, as Linux's __mm_populate
    /// fails on it. Returns 0 or -errno.
    /// </summary>
    public long SetLocked(ulong start, ulong length, bool locked, bool populate, ulong limit, bool unlimited)
    {
        ulong end = start + length;
        if (end < start)
        {
            return -Errno.EINVAL.Value;
        }

        if (end == start)
        {
            return 0;
        }

        lock (_mu)
        {
            if (locked && !unlimited)
            {
                ulong total = length + LockedBytesLocked(0, ulong.MaxValue) - LockedBytesLocked(start, end);
                if (total > PageDown(limit))
                {
                    return -Errno.ENOMEM.Value;
                }
            }

            int i = _vmas.IndexOf(start);
            if (i < 0)
            {
                return -Errno.ENOMEM.Value;
            }

            _vmas.SplitAt(start);
            _vmas.SplitAt(end);
            i = _vmas.IndexOf(start);
            ulong cursor = start;
            bool inaccessible = false;
            for (; i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                Vma v = _vmas[i];
                if (v.Start != cursor)
                {
                    return -Errno.ENOMEM.Value;
                }

                _vmas.Replace(i, v with { Locked = locked });
                inaccessible |= v.Prot == Mman.PROT_NONE;
                cursor = v.End;
            }

            return cursor < end || (locked && populate && inaccessible) ? -Errno.ENOMEM.Value : 0;
        }
    }

    /// <summary>
    /// Implements mlockall(2)'s effect once the flags were checked: MCL_CURRENT locks every VMA (ENOMEM if the
    /// whole address space exceeds <paramref name="limit"/> without <paramref name="unlimited"/>), MCL_FUTURE
    /// locks VMAs created later (alone, it leaves present VMAs as they are); neither flag (munlockall) unlocks
    /// everything. Returns 0 or -errno.
    /// </summary>
    public long LockAll(bool current, bool future, ulong limit, bool unlimited)
    {
        lock (_mu)
        {
            if (current && !unlimited && _mappedBytes > PageDown(limit))
            {
                return -Errno.ENOMEM.Value;
            }

            _lockFuture = future;
            if (future && !current)
            {
                return 0; // MCL_FUTURE alone leaves the present VMAs as they are
            }

            // MCL_CURRENT locks every VMA; munlockall (neither flag) unlocks every one.
            for (int i = 0; i < _vmas.Count; i++)
            {
                if (_vmas[i].Locked != current)
                {
                    _vmas.Replace(i, _vmas[i] with { Locked = current });
                }
            }

            return 0;
        }
    }

    // Bytes of locked VMAs within [start, end). Preconditions: _mu is held.
    private ulong LockedBytesLocked(ulong start, ulong end)
    {
        AssertLocked();
        ulong sum = 0;
        for (int i = _vmas.FirstEndingAfter(start); i >= 0 && i < _vmas.Count && _vmas[i].Start < end; i++)
        {
            Vma v = _vmas[i];
            if (v.Locked)
            {
                ulong s = v.Start > start ? v.Start : start;
                ulong e = v.End < end ? v.End : end;
                sum += e - s;
            }
        }

        return sum;
    }
}
