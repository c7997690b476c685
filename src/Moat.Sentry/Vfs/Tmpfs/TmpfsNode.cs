using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry.Vfs.Tmpfs;

/// <summary>An inode of a tmpfs. All fields are protected by the owning <see cref="Tmpfs"/>'s lock.</summary>
internal abstract class TmpfsNode
{
    protected TmpfsNode(Tmpfs fs, uint mode, uint uid, uint gid)
    {
        Fs = fs;
        Ino = fs.NextIno();
        Mode = mode;
        Uid = uid;
        Gid = gid;
        Atime = Mtime = Ctime = Now();
    }

    public Tmpfs Fs { get; }

    public ulong Ino { get; }

    /// <summary>File type and permission bits (st_mode).</summary>
    public uint Mode { get; set; }

    public uint Uid { get; set; }

    public uint Gid { get; set; }

    public ulong Nlink { get; set; } = 1;

    /// <summary>Extended attributes by full name (<see cref="Xattrs"/>); null until the first is set.</summary>
    public SortedDictionary<string, byte[]>? Xattrs { get; set; }

    public Timespec Atime { get; set; }

    public Timespec Mtime { get; set; }

    public Timespec Ctime { get; set; }

    public virtual long Size => 0;

    /// <summary>The device a device node stands for (st_rdev); 0 for everything else.</summary>
    public virtual ulong Rdev => 0;

    public static Timespec Now()
    {
        HostProcess.ClockGettime(0, out Timespec ts);
        return ts;
    }

    public void Touch(bool modified)
    {
        Timespec now = Now();
        Ctime = now;
        if (modified)
        {
            Mtime = now;
        }
    }

    public Stat ToStat()
    {
        return new Stat
        {
            st_dev = Fs.Device,
            st_ino = Ino,
            st_nlink = Nlink,
            st_mode = Mode,
            st_uid = Uid,
            st_gid = Gid,
            st_size = Size,
            st_rdev = Rdev,
            st_blksize = 4096,
            st_blocks = (Size + 511) / 512,
            st_atime = Atime.tv_sec,
            st_atime_nsec = Atime.tv_nsec,
            st_mtime = Mtime.tv_sec,
            st_mtime_nsec = Mtime.tv_nsec,
            st_ctime = Ctime.tv_sec,
            st_ctime_nsec = Ctime.tv_nsec,
        };
    }
}

/// <summary>A tmpfs directory.</summary>
internal sealed class TmpfsDirectory : TmpfsNode
{
    public TmpfsDirectory(Tmpfs fs, TmpfsDirectory? parent, uint perm, uint uid, uint gid)
        : base(fs, Stat.S_IFDIR | perm, uid, gid)
    {
        Parent = parent ?? this;
        Nlink = 2;
    }

    /// <summary>The parent directory (itself for the root).</summary>
    public TmpfsDirectory Parent { get; set; }

    /// <summary>In an overlay's upper layer: hide whatever the lower layer has at this path.</summary>
    public bool Opaque { get; set; }

    /// <summary>Entries by name, in a stable order for getdents.</summary>
    public SortedDictionary<string, TmpfsNode> Children { get; } = new(StringComparer.Ordinal);

    public override long Size => 4096;
}

/// <summary>In an overlay's upper layer: marks a lower-layer name as deleted (a 0/0 character device, as overlayfs does).</summary>
internal sealed class TmpfsWhiteout : TmpfsNode
{
    public TmpfsWhiteout(Tmpfs fs)
        : base(fs, Stat.S_IFCHR, 0, 0)
    {
    }
}

/// <summary>A tmpfs symbolic link.</summary>
internal sealed class TmpfsSymlink : TmpfsNode
{
    public TmpfsSymlink(Tmpfs fs, string target, uint uid, uint gid)
        : base(fs, Stat.S_IFLNK | 0x1FF, uid, gid)
    {
        Target = target;
    }

    public string Target { get; }

    public override long Size => Moat.Abi.LinuxString.Encoding.GetByteCount(Target);
}

/// <summary>
/// A tmpfs regular file. Its data lives in the MemoryFile, page by page: a hole reads as zeros.
/// </summary>
internal sealed unsafe class TmpfsRegular : TmpfsNode, Mm.ISharedFilePages
{
    private readonly Dictionary<long, long> _pages = [];
    private long _size;

    public TmpfsRegular(Tmpfs fs, uint perm, uint uid, uint gid)
        : base(fs, Stat.S_IFREG | perm, uid, gid)
    {
    }

    public override long Size => _size;

    /// <summary>
    /// The F_SEAL_* bits (memfd_create(2) sealing). Like Linux's shmem, an ordinary tmpfs file carries
    /// F_SEAL_SEAL, so no seal can be added to it.
    /// </summary>
    public int Seals { get; set; } = FileSeals.F_SEAL_SEAL;

    /// <summary>Copies up to dst.Length bytes at <paramref name="offset"/> out of the file.</summary>
    public int Read(long offset, Span<byte> dst)
    {
        if (offset >= _size)
        {
            return 0;
        }

        int n = (int)Math.Min(dst.Length, _size - offset);
        int done = 0;
        while (done < n)
        {
            long pos = offset + done;
            long page = pos >> 12;
            int inPage = (int)(pos & 4095);
            int chunk = Math.Min(n - done, 4096 - inPage);
            if (_pages.TryGetValue(page, out long fo))
            {
                new ReadOnlySpan<byte>(Fs.MemoryFile.PointerAt(fo + inPage), chunk).CopyTo(dst.Slice(done, chunk));
            }
            else
            {
                dst.Slice(done, chunk).Clear();
            }

            done += chunk;
        }

        return n;
    }

    /// <summary>Writes <paramref name="src"/> at <paramref name="offset"/>, growing the file. Returns bytes written or -ENOSPC.</summary>
    public long Write(long offset, ReadOnlySpan<byte> src)
    {
        if (src.IsEmpty)
        {
            return 0; // an empty write changes nothing, wherever it is aimed
        }

        int done = 0;
        while (done < src.Length)
        {
            long pos = offset + done;
            long page = pos >> 12;
            int inPage = (int)(pos & 4095);
            int chunk = Math.Min(src.Length - done, 4096 - inPage);
            if (!_pages.TryGetValue(page, out long fo))
            {
                fo = Fs.AllocatePage();
                if (fo < 0)
                {
                    break;
                }

                _pages[page] = fo;
            }

            src.Slice(done, chunk).CopyTo(new Span<byte>(Fs.MemoryFile.PointerAt(fo + inPage), chunk));
            done += chunk;
        }

        if (done == 0 && src.Length > 0)
        {
            return -Errno.ENOSPC.Value;
        }

        _size = Math.Max(_size, offset + done);
        Touch(modified: true);
        return done;
    }

    /// <summary>
    /// The MemoryFile offsets of the <paramref name="pages"/>.Length pages from page index
    /// <paramref name="firstPage"/>, allocating (zeroed) pages for holes: what a shared mapping maps.
    /// Returns 0 or -ENOMEM. Preconditions: Fs.Mu is held.
    /// </summary>
    public long BackPages(long firstPage, Span<long> pages)
    {
        for (int i = 0; i < pages.Length; i++)
        {
            if (!_pages.TryGetValue(firstPage + i, out long fo))
            {
                fo = Fs.AllocatePage();
                if (fo < 0)
                {
                    return fo;
                }

                _pages[firstPage + i] = fo;
            }

            pages[i] = fo;
        }

        return 0;
    }

    // The memories that map this file (weakly: a memory that is gone drops out by itself). Made on the first
    // mmap: most files are never mapped, and a table per file would weigh on the GC (it is finalizable).
    private System.Runtime.CompilerServices.ConditionalWeakTable<Mm.MemoryManager, object?>? _mappers;

    /// <inheritdoc/>
    public object Identity => this;

    /// <inheritdoc/>
    public void AddMapper(Mm.MemoryManager mm) =>
        System.Threading.LazyInitializer.EnsureInitialized(ref _mappers).AddOrUpdate(mm, null);

    /// <summary>Whether the last shrink or hole left pages in another process's host mappings (see <see cref="Mm.MemoryManager.HasStaleHostMappings"/>).</summary>
    public bool LeftStaleMappings { get; private set; }

    // Takes the file's pages [firstIndex, endIndex) out of every mapping of it (private ones only when evenPrivate).
    // Preconditions: Fs.Mu is held.
    private void InvalidateMappings(long firstIndex, long endIndex, bool evenPrivate)
    {
        LeftStaleMappings = false;
        if (System.Threading.Volatile.Read(ref _mappers) is not { } mappers)
        {
            return;
        }

        foreach (var entry in mappers)
        {
            LeftStaleMappings |= entry.Key.InvalidateFilePages(this, firstIndex, endIndex, evenPrivate);
        }
    }

    /// <inheritdoc/>
    public long ReferencePage(long index)
    {
        lock (Fs.Mu)
        {
            if (index >= (_size + (long)Mman.PageSize - 1) / (long)Mman.PageSize)
            {
                return Mm.ISharedFilePages.PastEnd;
            }

            Span<long> page = stackalloc long[1];
            long r = BackPages(index, page);
            if (r < 0)
            {
                return r;
            }

            // Taken under Mu: a truncate cannot free the page before the mapping holds it.
            Fs.MemoryFile.IncRef(page[0], Mman.PageSize);
            return page[0];
        }
    }

    /// <summary>Sets the size, freeing pages past it and zeroing the tail of the last one.</summary>
    public void Truncate(long size)
    {
        if (size < _size)
        {
            var drop = new List<long>();
            foreach (long page in _pages.Keys)
            {
                if (page << 12 >= size)
                {
                    drop.Add(page);
                }
            }

            foreach (long page in drop)
            {
                Fs.FreePage(_pages[page]);
                _pages.Remove(page);
            }

            int tail = (int)(size & 4095);
            if (tail != 0 && _pages.TryGetValue(size >> 12, out long fo))
            {
                new Span<byte>(Fs.MemoryFile.PointerAt(fo + tail), 4096 - tail).Clear();
            }

            // Whole pages past the new end leave the mappings too: an access there is SIGBUS now.
            InvalidateMappings((size + 4095) >> 12, long.MaxValue, evenPrivate: true);
        }

        _size = size;
        Touch(modified: true);
    }

    /// <summary>
    /// fallocate without FALLOC_FL_PUNCH_HOLE: backs [offset, offset+length) with (zeroed) pages and, unless
    /// <paramref name="keepSize"/>, grows the file to its end. Returns 0 or -ENOSPC (pages already backed stay).
    /// Preconditions: Fs.Mu is held.
    /// </summary>
    public long Allocate(long offset, long length, bool keepSize)
    {
        for (long page = offset >> 12; page <= (offset + length - 1) >> 12; page++)
        {
            if (!_pages.ContainsKey(page))
            {
                long fo = Fs.AllocatePage();
                if (fo < 0)
                {
                    return -Errno.ENOSPC.Value;
                }

                _pages[page] = fo;
            }
        }

        if (!keepSize && offset + length > _size)
        {
            _size = offset + length;
        }

        Touch(modified: true);
        return 0;
    }

    /// <summary>
    /// FALLOC_FL_PUNCH_HOLE: [offset, offset+length) reads as zeros; whole pages go back to the MemoryFile.
    /// Whole pages leave every shared mapping first; a partial page is zeroed in place.
    /// Preconditions: Fs.Mu is held.
    /// </summary>
    public void PunchHole(long offset, long length)
    {
        long end = Math.Min(offset + length, _size);
        if ((offset + 4095) >> 12 < end >> 12)
        {
            // Whole pages of the hole leave the mappings, which fault in fresh zeroed pages of the file after.
            InvalidateMappings((offset + 4095) >> 12, end >> 12, evenPrivate: false);
        }

        for (long pos = offset; pos < end;)
        {
            long page = pos >> 12;
            int inPage = (int)(pos & 4095);
            int chunk = (int)Math.Min(end - pos, 4096 - inPage);
            if (_pages.TryGetValue(page, out long fo))
            {
                new Span<byte>(Fs.MemoryFile.PointerAt(fo + inPage), chunk).Clear();
                if (chunk == 4096)
                {
                    Fs.FreePage(fo);
                    _pages.Remove(page);
                }
            }

            pos += chunk;
        }

        Touch(modified: true);
    }

    /// <summary>Frees all data once the last link and the last open file are gone.</summary>
    public void ReleaseData()
    {
        foreach (long fo in _pages.Values)
        {
            Fs.FreePage(fo);
        }

        _pages.Clear();
        _size = 0;
    }

    /// <summary>Open file descriptions on this file; the data lives until this is 0 and Nlink is 0.</summary>
    public int OpenCount { get; set; }

    /// <summary>An O_TMPFILE file opened without O_EXCL that has never had a name: linkat may give it one.</summary>
    public bool Linkable { get; set; }
}

/// <summary>
/// The file-system node of a unix socket bound to a path. It only names the socket (which lives in the
/// kernel's name table); opening it answers ENXIO, as Linux does.
/// </summary>
internal sealed class TmpfsSocketNode : TmpfsNode
{
    public TmpfsSocketNode(Tmpfs fs, uint perm, uint uid, uint gid)
        : base(fs, Stat.S_IFSOCK | perm, uid, gid)
    {
    }
}

/// <summary>
/// A named pipe (mknod S_IFIFO, mkfifo): each open joins the node's current pipe, made afresh once every
/// end of the last one has closed (its unread data goes with it, as Linux frees the pipe).
/// </summary>
internal sealed class TmpfsFifo : TmpfsNode
{
    private Pipe? _pipe;

    public TmpfsFifo(Tmpfs fs, uint perm, uint uid, uint gid)
        : base(fs, Stat.S_IFIFO | perm, uid, gid)
    {
    }

    /// <summary>The pipe an open joins.</summary>
    /// <remarks>Preconditions: the file system's Mu is held.</remarks>
    public Pipe PipeLocked()
    {
        if (_pipe == null || !_pipe.HasEnds)
        {
            _pipe = new Pipe();
        }

        return _pipe;
    }
}

/// <summary>A character device node (in the Sentry's /dev): opening it opens the Sentry's own device, never the host's.</summary>
internal sealed class TmpfsDeviceNode : TmpfsNode
{
    public TmpfsDeviceNode(Tmpfs fs, uint perm, uint major, uint minor)
        : base(fs, Stat.S_IFCHR | perm, 0, 0)
    {
        Major = major;
        Minor = minor;
    }

    public uint Major { get; }

    public uint Minor { get; }

    // Linux's new_encode_dev layout, as stat(2) reports st_rdev.
    public override ulong Rdev => ((ulong)(Major & 0xFFF) << 8) | (Minor & 0xFF) | ((ulong)(Minor & ~0xFFu) << 12) | ((ulong)(Major & ~0xFFFu) << 32);
}
