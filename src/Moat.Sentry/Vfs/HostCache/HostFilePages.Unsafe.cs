using System.Threading;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Vfs.HostCache;

/// <summary>
/// The pages of a host file behind its private mappings, read again from the file when a mapping lacks one:
/// after MADV_DONTNEED (Linux drops the private copies and the next touch reads the file), or past the size the
/// file had when it was mapped if it has grown since. A page past the file's end now is SIGBUS, as Linux's
/// filemap_fault answers; a truncate through the sandbox takes pages past the new end out of the mappings
/// (<see cref="HostFileMappers"/>). The host fd stays open while a mapping shows the file: the mappings hold its description
/// (<see cref="FileDescription.MappedFile"/>).
/// </summary>
internal sealed unsafe class HostFilePages : ISharedFilePages
{
    private readonly HostFileDescription _file;
    private readonly MemoryFile _memory;

    // The mappers of a file the sandbox can truncate (a volume's), shared by all its pages objects; else null.
    private readonly HostFileMappers? _mappers;

    private HostFilePages(HostFileDescription file, MemoryFile memory)
    {
        _file = file;
        _memory = memory;
        if (file.Volume != null && HostFile.Fstat(file.HostFd, out Stat st) == 0)
        {
            _mappers = HostFileMappers.Of(st.st_dev, st.st_ino);
        }
    }

    public object Identity => (object?)_mappers ?? this;

    /// <summary>The one instance for <paramref name="file"/> (its mappings all share it).</summary>
    public static HostFilePages For(HostFileDescription file, MemoryFile memory)
    {
        HostFilePages? pages = file.PrivatePages;
        if (pages != null)
        {
            return pages;
        }

        var made = new HostFilePages(file, memory);
        return Interlocked.CompareExchange(ref file.PrivatePages, made, null) ?? made;
    }

    public long ReferencePage(long index)
    {
        if (HostFile.Fstat(_file.HostFd, out Stat st) < 0 || index >= (st.st_size + (long)Mman.PageSize - 1) / (long)Mman.PageSize)
        {
            return ISharedFilePages.PastEnd;
        }

        long page = _memory.Allocate(Mman.PageSize);
        if (page < 0)
        {
            return page;
        }

        // The allocator's pages are zeroed: what lies past the end of the file in the last page stays zero.
        long got = HostFile.PRead(_file.HostFd, _memory.PointerAt(page), Mman.PageSize, index * (long)Mman.PageSize);
        if (got < 0)
        {
            _memory.Free(page, Mman.PageSize);
            return -Errno.EIO.Value; // a read error of the page cache: SIGBUS for the app, EFAULT for a copy
        }

        return page;
    }

    // A truncate through the sandbox takes the pages past the new end out of every private mapping of the file.
    public void AddMapper(MemoryManager mm) => _mappers?.Add(mm);
}
