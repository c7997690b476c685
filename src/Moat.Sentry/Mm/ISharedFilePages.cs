namespace Moat.Sentry.Mm;

/// <summary>
/// A Sentry file whose data pages live in the MemoryFile (tmpfs, memfd) and that a MAP_SHARED mapping shows:
/// the fault path asks it for a page the mapping lacks, so pages the file gains after mmap (ftruncate,
/// write, fallocate) become accessible, while pages past its end stay SIGBUS, as Linux's shmem fault does; and
/// pages it loses (truncation, a punched hole) leave every mapping, as Linux's unmap_mapping_range does.
/// </summary>
/// <remarks>Called with no MemoryManager lock held: implementations take their file system's lock.</remarks>
internal interface ISharedFilePages
{
    /// <summary>
    /// The MemoryFile offset of the file's page <paramref name="index"/> (allocated if it is a hole), with
    /// one reference taken for the caller; <see cref="PastEnd"/> when the page lies past the end of the file;
    /// or -errno (ENOMEM, ENOSPC) when no page can be had.
    /// </summary>
    long ReferencePage(long index);

    /// <summary>
    /// Records that <paramref name="mm"/> maps this file (shared or private), so that shrinking the file or punching a hole
    /// takes the pages out of its mappings (<see cref="MemoryManager.InvalidateFilePages"/>). Weakly held.
    /// </summary>
    void AddMapper(MemoryManager mm);

    /// <summary>
    /// What names the file for <see cref="MemoryManager.InvalidateFilePages"/>: the same object for every
    /// <see cref="ISharedFilePages"/> of one file (a host file's private mappings made through different
    /// descriptions each have their own pages object).
    /// </summary>
    object Identity { get; }

    /// <summary>What <see cref="ReferencePage"/> answers for a page past the end of the file.</summary>
    public const long PastEnd = long.MinValue;
}
