using System;
using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>
/// The VMA side of userfaultfd: registering ranges in missing mode (UFFDIO_REGISTER, UNREGISTER, the release
/// at close), and filling their missing pages (UFFDIO_COPY, ZEROPAGE). The waiting is the handler's
/// (<see cref="IUserfaultHandler"/>); faults and copies find a registered missing page in HandleFault and Translate.
/// </summary>
internal sealed partial class MemoryManager
{
    // Whether Linux's vma_can_userfault holds for missing mode: anonymous memory, private or shared (shmem).
    // A file's mapping (its name a path), a shared mapping of a Sentry file (memfd, tmpfs) and a SysV segment
    // are not offered: the Sentry's shmem-backed files do not wait for pages.
    private static bool CanUserfault(in Vma v) =>
        v.Kind == VmaKind.Anonymous && v.File == null && v.Owner == null && (v.Name == null || v.Name.StartsWith('['));

    /// <summary>
    /// Implements UFFDIO_REGISTER's VMA walk (missing mode) for [start, end): every VMA in the range must be
    /// able to userfault and be registered with no other handler. Returns 0 or -errno (EINVAL: no VMA in the
    /// range, or one that cannot userfault; EBUSY: one of another userfaultfd).
    /// </summary>
    public long UserfaultRegister(IUserfaultHandler handler, ulong start, ulong end)
    {
        using (LockExclusive())
        {
            int first = _vmas.FirstEndingAfter(start);
            if (first >= _vmas.Count || _vmas[first].Start >= end)
            {
                return -Errno.EINVAL.Value;
            }

            for (int i = first; i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                if (!CanUserfault(_vmas[i]))
                {
                    return -Errno.EINVAL.Value;
                }

                if (_vmas[i].Userfault != null && !ReferenceEquals(_vmas[i].Userfault, handler))
                {
                    return -Errno.EBUSY.Value;
                }
            }

            SetUserfaultLocked(start, end, handler);
            return 0;
        }
    }

    /// <summary>
    /// Implements UFFDIO_UNREGISTER's VMA walk for [start, end): the VMAs in the range must be able to
    /// userfault (else EINVAL, as must at least one VMA be there). The caller wakes the range's waiters.
    /// </summary>
    public long UserfaultUnregister(ulong start, ulong end)
    {
        using (LockExclusive())
        {
            int first = _vmas.FirstEndingAfter(start);
            if (first >= _vmas.Count || _vmas[first].Start >= end)
            {
                return -Errno.EINVAL.Value;
            }

            for (int i = first; i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                if (!CanUserfault(_vmas[i]))
                {
                    return -Errno.EINVAL.Value;
                }
            }

            SetUserfaultLocked(start, end, null);
            return 0;
        }
    }

    /// <summary>Drops every registration with <paramref name="handler"/> (its last close: userfaultfd_release).</summary>
    public void UserfaultRelease(IUserfaultHandler handler)
    {
        using (LockExclusive())
        {
            for (int i = 0; i < _vmas.Count; i++)
            {
                if (ReferenceEquals(_vmas[i].Userfault, handler))
                {
                    _vmas.Replace(i, _vmas[i] with { Userfault = null });
                }
            }
        }
    }

    // Registers (or unregisters, handler null) the VMAs of [start, end), splitting those it cuts.
    // Preconditions: _mu is held exclusively.
    private void SetUserfaultLocked(ulong start, ulong end, IUserfaultHandler? handler)
    {
        AssertExclusive();
        for (int i = _vmas.FirstEndingAfter(start); i < _vmas.Count && _vmas[i].Start < end; i++)
        {
            if (ReferenceEquals(_vmas[i].Userfault, handler))
            {
                continue;
            }

            ulong s = Math.Max(start, _vmas[i].Start);
            ulong e = Math.Min(end, _vmas[i].End);
            _vmas.SplitAt(s);
            _vmas.SplitAt(e);
            i = _vmas.IndexOf(s);
            _vmas.Replace(i, _vmas[i] with { Userfault = handler });
        }
    }

    /// <summary>
    /// Whether the page at <paramref name="address"/> is still a missing page of a range registered with
    /// <paramref name="handler"/> (Linux's userfaultfd_must_wait, looked at once the fault is queued).
    /// </summary>
    public bool UserfaultMustWait(IUserfaultHandler handler, ulong address)
    {
        lock (_mu)
        {
            int i = _vmas.IndexOf(address);
            return i >= 0 && ReferenceEquals(_vmas[i].Userfault, handler) && _pmas.IndexOf(PageDown(address)) < 0;
        }
    }

    /// <summary>
    /// Implements one page of UFFDIO_COPY (<paramref name="data"/> is the page) or UFFDIO_ZEROPAGE (empty
    /// <paramref name="data"/>) at <paramref name="page"/>, part of the request [page, <paramref name="end"/>):
    /// the range must lie in one registered VMA (else ENOENT) and the page be missing (else EEXIST). The page
    /// is not mapped in the host: the woken access faults it in.
    /// </summary>
    public long UserfaultFill(ulong page, ulong end, ReadOnlySpan<byte> data)
    {
        using (LockExclusive())
        {
            int i = _vmas.IndexOf(page);
            if (i < 0 || _vmas[i].End < end || _vmas[i].Userfault == null)
            {
                return -Errno.ENOENT.Value;
            }

            if (_pmas.IndexOf(page) >= 0)
            {
                return -Errno.EEXIST.Value;
            }

            long offset = MemoryFile.Allocate(Mman.PageSize);
            if (offset < 0)
            {
                return offset;
            }

            // Allocated pages read as zeros: a zero page needs nothing more.
            if (!data.IsEmpty)
            {
                data[..(int)Mman.PageSize].CopyTo(MemoryFile.SpanAt(offset, (int)Mman.PageSize));
            }

            _pmas.Insert(new Pma(page, page + Mman.PageSize, offset));
            return 0;
        }
    }
}
