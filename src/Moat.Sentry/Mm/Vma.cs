namespace Moat.Sentry.Mm;

/// <summary>What backs a VMA.</summary>
internal enum VmaKind : byte
{
    /// <summary>Anonymous memory: zero-filled on first touch.</summary>
    Anonymous,

    /// <summary>
    /// Pages of a file mapping wholly past the end of the file when it was mapped: any access is SIGBUS
    /// (BUS_ADRERR), unless the VMA shows a <see cref="Vma.File"/> that has grown over the page since. A
    /// shared mapping of a Sentry file is of this kind for all its length: a page without memory is always
    /// asked of the file.
    /// </summary>
    BeyondEof,
}

/// <summary>
/// A virtual memory area: a range of the app's address space with one protection and one kind of backing.
/// Locked is mlock's VM_LOCKED: counted against RLIMIT_MEMLOCK and shown as VmLck; the Sentry never pages
/// app memory out, so it pins nothing on the host.
/// Invariants: Start and End are page-aligned and Start &lt; End.
/// </summary>
internal readonly record struct Vma(ulong Start, ulong End, int Prot, int MaxProt, bool Shared, bool GrowsDown, VmaKind Kind, string? Name, bool Locked = false)
    : ISegment<Vma>
{
    public ulong Length => End - Start;

    /// <summary>The object this VMA maps and counts as an attachment of (a SysV shm segment), or null.</summary>
    public IMappingOwner? Owner { get; init; }

    /// <summary>
    /// The file a shared mapping may write (VM_SHARED with VM_MAYWRITE: MAP_SHARED of a file open for writing,
    /// whatever the protection), which F_SEAL_WRITE must not meet; null otherwise.
    /// </summary>
    public object? WritableFile { get; init; }

    /// <summary>Where Start falls in <see cref="Owner"/> (Linux's vm_pgoff, in bytes).</summary>
    public ulong OwnerOffset { get; init; }

    /// <summary>The file a <see cref="VmaKind.BeyondEof"/> part of a shared Sentry-file mapping shows, or null.</summary>
    public ISharedFilePages? File { get; init; }

    /// <summary>Where Start falls in <see cref="File"/> or in the file <see cref="Origin"/> names (Linux's vm_pgoff, in bytes).</summary>
    public ulong FileOffset { get; init; }

    /// <summary>
    /// The userfaultfd this range is registered with in missing mode (vm_userfaultfd_ctx), or null: a page the
    /// range lacks is waited for instead of zero-filled. Fork and mremap's new range drop it, as Linux does
    /// without UFFD_FEATURE_EVENT_FORK and EVENT_REMAP.
    /// </summary>
    public IUserfaultHandler? Userfault { get; init; }

    /// <summary>The device and inode of the file this VMA maps, for /proc/PID/maps; null for anonymous memory.</summary>
    public MappedFileId? Origin { get; init; }

    /// <summary>
    /// Linux's VM_MAYWRITE: mprotect could make the range writable. A shared mapping of a file needs the file open
    /// for writing (<see cref="WritableFile"/>); private and anonymous memory go by <see cref="MaxProt"/>.
    /// </summary>
    public bool MayWrite => (Prot & Abi.Mman.PROT_WRITE) != 0 ||
        ((MaxProt & Abi.Mman.PROT_WRITE) != 0 && (!Shared || WritableFile != null || (Origin == null && File == null)));

    public Vma Slice(ulong start, ulong end) => Owner == null && File == null && Origin == null
        ? this with { Start = start, End = end }
        : this with { Start = start, End = end, OwnerOffset = OwnerOffset + (start - Start), FileOffset = FileOffset + (start - Start) };
}

/// <summary>
/// A mapped file: its device and inode as stat(2) shows them (the columns of /proc/PID/maps), and the open file
/// its mappings keep alive (Linux's vm_file), if any.
/// </summary>
internal sealed record MappedFileId(ulong Dev, ulong Ino, IHeldFile? Holder = null)
{
    public static MappedFileId Of(in Abi.Stat st) => new(st.st_dev, st.st_ino);
}

/// <summary>
/// An object whose mappings are counted, as Linux counts a SysV shm segment's VMAs in shm_nattch (one per VMA:
/// a split adds one, fork copies them, munmap, exec and exit drop them). The MemoryManager reports changes in
/// the number of its VMAs that reference the owner.
/// </summary>
/// <remarks>Called with MemoryManager._mu held: implementations take only locks below it and never call back
/// into a MemoryManager.</remarks>
internal interface IMappingOwner
{
    /// <summary><paramref name="count"/> more VMAs reference the owner.</summary>
    void Attached(int count);

    /// <summary><paramref name="count"/> fewer VMAs reference the owner.</summary>
    void Detached(int count);
}

/// <summary>
/// A platform mapping area: a range of app addresses whose memory is allocated, at FileOffset in the
/// MemoryFile. VMAs say what may be mapped; PMAs say what memory is there.
/// Cow marks private memory that may be shared with another address space since a fork: it is mapped
/// read-only on the host, and a write copies it first (unless no one else holds it any more).
/// Invariants: page-aligned; this PMA holds one reference on each page of [FileOffset, FileOffset+End-Start).
/// </summary>
internal readonly record struct Pma(ulong Start, ulong End, long FileOffset, bool Cow = false) : ISegment<Pma>
{
    public ulong Length => End - Start;

    public Pma Slice(ulong start, ulong end) => new(start, end, FileOffset + (long)(start - Start), Cow);
}
