using System;
using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>MAP_SHARED mappings of files whose data already lives in the MemoryFile (tmpfs, memfd).</summary>
internal sealed partial class MemoryManager
{
    /// <summary>
    /// Backs the shared VMA at <paramref name="start"/> with the given MemoryFile pages, one per app page,
    /// taking a reference on each: the mapping and the file then hold the very same memory, so stores
    /// through the mapping are the file's data and write(2) to the file shows in the mapping, in every
    /// process that maps it (fork shares the PMAs of shared VMAs outright).
    /// </summary>
    /// <remarks>
    /// Truncating the file or punching a hole takes the pages out of the mapping
    /// (<see cref="InvalidateFilePages"/>): a later access faults through the file again, SIGBUS past its end.
    /// </remarks>
    public long InstallSharedPages(ulong start, ReadOnlySpan<long> pages) => InstallPages(start, pages, cow: false);

    /// <summary>
    /// Backs a private mapping's pages from <paramref name="start"/> with <paramref name="pages"/> (the host
    /// page cache's copies), copy-on-write: the mapping reads them until it writes one, which then gets a copy
    /// of its own. Each page gains a reference. Returns 0 or -EINVAL.
    /// </summary>
    public long InstallPrivatePages(ulong start, ReadOnlySpan<long> pages) => InstallPages(start, pages, cow: true);

    private long InstallPages(ulong start, ReadOnlySpan<long> pages, bool cow)
    {
        using (LockExclusive())
        {
            ulong end = start + ((ulong)pages.Length * Mman.PageSize);
            int vi = _vmas.IndexOf(start);
            if (vi < 0 || _vmas[vi].Shared == cow || _vmas[vi].End < end)
            {
                return -Errno.EINVAL.Value;
            }

            _scratchPmas.Clear();
            _pmas.Remove(start, end, _scratchPmas);
            foreach (Pma p in _scratchPmas)
            {
                MemoryFile.Free(p.FileOffset, p.Length);
            }

            _scratchPmas.Clear();

            // One PMA per run of consecutive MemoryFile pages.
            int i = 0;
            while (i < pages.Length)
            {
                int j = i + 1;
                while (j < pages.Length && pages[j] == pages[j - 1] + (long)Mman.PageSize)
                {
                    j++;
                }

                ulong length = (ulong)(j - i) * Mman.PageSize;
                MemoryFile.IncRef(pages[i], length);
                ulong at = start + ((ulong)i * Mman.PageSize);
                _pmas.Insert(new Pma(at, at + length, pages[i], cow));
                i = j;
            }

            return 0;
        }
    }

    /// <summary>Marks the VMAs in [start, end) as shared mappings that may write <paramref name="file"/>.</summary>
    public void MarkMayWrite(ulong start, ulong end, object file)
    {
        using (LockFor(exclusive: false))
        {
            for (int i = _vmas.FirstEndingAfter(start); i < _vmas.Count && _vmas[i].Start < end; i++)
            {
                _vmas.Replace(i, _vmas[i] with { WritableFile = file });
            }
        }
    }

    /// <summary>Whether a VMA of this address space may write <paramref name="file"/> (Linux's i_mmap_writable).</summary>
    public bool MapsMayWrite(object file)
    {
        lock (_mu)
        {
            for (int i = 0; i < _vmas.Count; i++)
            {
                if (ReferenceEquals(_vmas[i].WritableFile, file))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Linux's unmap_mapping_range for a file this memory maps: its pages [firstIndex, endIndex) leave every
    /// VMA showing <paramref name="file"/> (an <see cref="ISharedFilePages.Identity"/>), so the next access faults through the file (SIGBUS past its
    /// end, a new zeroed page in a hole). From a thread that cannot reach this memory's host address space
    /// (another process truncating), the host mappings become stale blocks that our own threads unmap before
    /// they run app code again, holding the old pages until then. Returns whether any did.
    /// </summary>
    /// <remarks>Called with the file's lock held (it ranks above _mu).</remarks>
    /// <param name="evenPrivate">Whether private mappings lose their pages too, their own copies included (a
    /// truncate; a punched hole leaves them, as Linux's even_cows says).</param>
    public bool InvalidateFilePages(object file, long firstIndex, long endIndex, bool evenPrivate)
    {
        bool stale = false;
        using (LockExclusive())
        {
            for (int i = 0; i < _vmas.Count; i++)
            {
                Vma v = _vmas[i];
                if (v.File == null || !ReferenceEquals(v.File.Identity, file) || (!v.Shared && !evenPrivate))
                {
                    continue;
                }

                long vFirst = (long)(v.FileOffset / Mman.PageSize);
                long vEnd = vFirst + (long)(v.Length / Mman.PageSize);
                long from = Math.Max(vFirst, firstIndex);
                long to = Math.Min(vEnd, endIndex);
                if (from >= to)
                {
                    continue;
                }

                ulong start = v.Start + ((ulong)(from - vFirst) * Mman.PageSize);
                ulong end = v.Start + ((ulong)(to - vFirst) * Mman.PageSize);
                if (!_pmas.Overlaps(start, end))
                {
                    continue;
                }

                _pmas.SplitAt(start);
                _pmas.SplitAt(end);
                _scratchPmas.Clear();
                _pmas.Remove(start, end, _scratchPmas);
                bool foreign = UnmapHostLocked(start, end - start) == -Errno.EPERM.Value;
                foreach (Pma p in _scratchPmas)
                {
                    if (foreign)
                    {
                        // The reference moves to the stale block, released once the host mapping is gone.
                        (_staleHost ??= []).Add(new StaleHostBlock(p.Start, p.End, p.FileOffset));
                        stale = true;
                    }
                    else
                    {
                        MemoryFile.Free(p.FileOffset, p.Length);
                    }
                }

                _scratchPmas.Clear();
            }

            if (stale)
            {
                _staleHostPending = true;
            }
        }

        return stale;
    }
}
