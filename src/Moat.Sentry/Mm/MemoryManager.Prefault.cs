using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>
/// Prefaulting: memory given to a range before the app touches it, as Linux's populate_vma_page_range does for
/// mlock, MAP_POPULATE and MAP_LOCKED, and faultin_page_range for MADV_POPULATE_READ/WRITE.
/// </summary>
internal sealed partial class MemoryManager
{
    /// <summary>
    /// For mlock, mlockall(MCL_CURRENT), MAP_LOCKED and MAP_POPULATE: gives memory to every page of [start, end)
    /// that an access could reach (PROT_NONE memory is left alone), writable private memory copied as a write
    /// would. Best effort, as Linux ignores mm_populate's failures there: a page that cannot have memory (past
    /// a file's end, or out of memory) ends it and the app faults later.
    /// </summary>
    public void Prefault(ulong start, ulong end)
    {
        foreach ((ulong from, ulong to, int prot) in AccessibleRanges(start, end))
        {
            if (FaultIn(from, to, (prot & Mman.PROT_WRITE) != 0 ? AccessType.Write : AccessType.Read) < 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// MADV_POPULATE_READ (<paramref name="write"/> false) and MADV_POPULATE_WRITE over [start, end), whose VMAs
    /// the caller found to cover it: EINVAL if a VMA in it lacks the permission (checked before any page is
    /// touched, as faultin_page_range reports permission problems), EFAULT for a page past a file's end, ENOMEM
    /// when memory runs out. Returns 0 or -errno.
    /// </summary>
    public long PopulateAdvice(ulong start, ulong end, bool write)
    {
        int need = write ? Mman.PROT_WRITE : Mman.PROT_READ;
        lock (_mu)
        {
            for (int i = _vmas.FirstEndingAfter(start); i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                if ((_vmas[i].Prot & need) == 0)
                {
                    return -Errno.EINVAL.Value;
                }
            }
        }

        return FaultIn(start, end, write ? AccessType.Write : AccessType.Read);
    }

    // The parts of [start, end) whose VMAs an access could reach, with their protection, in address order.
    private System.Collections.Generic.List<(ulong From, ulong To, int Prot)> AccessibleRanges(ulong start, ulong end)
    {
        var ranges = new System.Collections.Generic.List<(ulong, ulong, int)>();
        lock (_mu)
        {
            for (int i = _vmas.FirstEndingAfter(start); i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                Vma v = _vmas[i];
                if (v.Prot != Mman.PROT_NONE)
                {
                    ranges.Add((System.Math.Max(start, v.Start), System.Math.Min(end, v.End), v.Prot));
                }
            }
        }

        return ranges;
    }

    // Touches [start, end) as an access of the given type would, a PMA at a time. Returns 0 or -errno.
    private long FaultIn(ulong start, ulong end, AccessType access)
    {
        for (ulong cursor = start; cursor < end;)
        {
            long n = Touch(cursor, end - cursor, access);
            if (n <= 0)
            {
                return n < 0 ? n : -Errno.EFAULT.Value;
            }

            cursor += (ulong)n;
        }

        return 0;
    }
}
