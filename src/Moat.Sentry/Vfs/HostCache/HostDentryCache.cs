using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.HostCache;

/// <summary>
/// The Sentry's cache of host lookups, so that repeated open/stat/readlink of a host path do not ask the
/// gofer again. Keyed by the path exactly as the gofer would be asked (it resolves "..", and host symlinks,
/// itself) and by whether a final symlink is followed. An entry is negative (ENOENT) or holds the file type
/// and an O_PATH fd; attributes are not stored but read with fstat on that fd, so in-place changes on the
/// host (size, times, mode) are seen. Read-only opens of a regular file share one read-only fd, each open
/// file keeping its own offset (<see cref="HostFileDescription"/>).
///
/// Policy: like gVisor's default for a root it owns (file-access=exclusive), names are not revalidated: a
/// file created, removed or renamed on the host during the run is not noticed for a cached path. The
/// sandbox's own changes never reach the host and the overlay consults its upper layer before asking here,
/// so they cannot be hidden by the cache; the overlay still invalidates a name it changes, which lets go
/// of fds that can no longer be reached. At most <c>capacity</c> entries, the least recently used go first.
/// </summary>
internal sealed class HostDentryCache
{
    /// <summary>How many entries are kept by default (each holds at most two host fds).</summary>
    public const int DefaultCapacity = 1024;

    /// <summary>Returned by <see cref="Acquire"/> when the file is not shared: open it through the gofer.</summary>
    public const long NotShared = 1;

    private readonly int _capacity;
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly Dictionary<(string Path, bool Follow), HostDentry> _entries = [];
    private HostDentry? _newest;
    private HostDentry? _oldest;
    private long _hits;
    private long _misses;

    public HostDentryCache(IFileOpener files, int capacity = DefaultCapacity)
    {
        Files = files;
        _capacity = capacity;
    }

    /// <summary>The gofer, for what the cache does not serve.</summary>
    public IFileOpener Files { get; }

    /// <summary>Whether anything is cached at all (capacity 0 turns the cache off).</summary>
    public bool Enabled => _capacity > 0;

    public int Count
    {
        get
        {
            lock (_mu)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Lookups answered from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that asked the gofer.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Looks a host path up. Returns 0 with its file type (S_IFMT bits), or -errno.</summary>
    public long Lookup(string path, bool follow, out uint type)
    {
        type = 0;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            lock (_mu)
            {
                if (FindLocked(path, follow) is HostDentry d)
                {
                    type = d.Type;
                    return d.Error;
                }
            }

            long r = Fill(path, follow, out type, out _);
            if (r < 0 || !Enabled)
            {
                return r;
            }
        }

        return 0;
    }

    /// <summary>
    /// Where a host symlink on the way to <paramref name="path"/> led (null when the path holds none), found or
    /// not, as the gofer said when the path was looked up: the overlay checks it against the mounts that hide
    /// parts of the host. Fills the entry the lookup that follows then finds.
    /// </summary>
    public string? Resolved(string path, bool follow)
    {
        for (int attempt = 0; attempt < 2; attempt++)
        {
            lock (_mu)
            {
                if (FindLocked(path, follow) is HostDentry d)
                {
                    return d.Resolved;
                }
            }

            long r = Fill(path, follow, out _, out string? resolved);
            if (r < 0 || !Enabled)
            {
                return resolved; // not kept: a failure other than ENOENT, or the cache is off
            }
        }

        return null;
    }

    /// <summary>Stats a host path (fresh attributes, through the cached fd). Returns 0 or -errno.</summary>
    public long Stat(string path, bool follow, out Stat st)
    {
        st = default;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            lock (_mu)
            {
                if (FindLocked(path, follow) is HostDentry d)
                {
                    return d.Error < 0 ? d.Error : HostFile.Fstat(d.PathFd!.Fd, out st);
                }
            }

            if (!Enabled)
            {
                break;
            }

            long r = Fill(path, follow, out _, out _);
            if (r < 0)
            {
                return r;
            }
        }

        // Not kept (cache off, or evicted at once by other threads' lookups): ask the gofer.
        using SafeFdHandle? fd = Files.Open(path, OpenFlags.O_PATH | (follow ? 0 : OpenFlags.O_NOFOLLOW), out long error);
        return fd == null ? error : HostFile.Fstat(fd.Fd, out st);
    }

    /// <summary>
    /// Gets an fd to open a host file with: its O_PATH fd, or (<paramref name="read"/>) the shared read-only
    /// fd of a regular file. Returns 0 with the fd and its type, -errno, or <see cref="NotShared"/> (a
    /// directory or special file opened for reading, or the cache is off). A <paramref name="shared"/> fd
    /// carries one SafeHandle reference for the caller, given back with DangerousRelease; otherwise the
    /// caller owns it.
    /// </summary>
    public long Acquire(string path, bool follow, bool read, out SafeFdHandle? fd, out bool shared, out uint type)
    {
        fd = null;
        shared = false;
        type = 0;
        if (!Enabled)
        {
            return NotShared;
        }

        for (int attempt = 0; attempt < 3; attempt++)
        {
            HostDentry? d;
            lock (_mu)
            {
                d = FindLocked(path, follow);
                if (d != null)
                {
                    type = d.Type;
                    if (d.Error < 0)
                    {
                        return d.Error;
                    }

                    if (read && d.Type != Abi.Stat.S_IFREG)
                    {
                        return NotShared;
                    }

                    SafeFdHandle? have = read ? d.ReadFd : d.PathFd;
                    if (have != null)
                    {
                        fd = AddRef(have);
                        shared = true;
                        return 0;
                    }
                }
            }

            if (d == null)
            {
                long r = Fill(path, follow, out _, out _);
                if (r < 0)
                {
                    return r;
                }

                continue;
            }

            return AttachReadFd(path, follow, out fd, out shared, out type);
        }

        return NotShared;
    }

    // Fetches the read-only fd of a cached regular file and shares it from now on.
    private long AttachReadFd(string path, bool follow, out SafeFdHandle? fd, out bool shared, out uint type)
    {
        shared = false;
        type = Abi.Stat.S_IFREG;
        fd = Files.Open(path, follow ? 0 : OpenFlags.O_NOFOLLOW, out long r);
        Interlocked.Increment(ref _misses);
        if (fd == null)
        {
            return r;
        }

        if (HostFile.Fstat(fd.Fd, out Stat st) < 0 || (st.st_mode & Abi.Stat.S_IFMT) != Abi.Stat.S_IFREG)
        {
            // The host changed the name under us: open it the ordinary way.
            fd.Dispose();
            fd = null;
            return NotShared;
        }

        lock (_mu)
        {
            if (_entries.TryGetValue((path, follow), out HostDentry? d) && d.Error == 0 && d.Type == Abi.Stat.S_IFREG)
            {
                if (d.ReadFd == null)
                {
                    d.ReadFd = fd;
                }
                else
                {
                    fd.Dispose(); // another thread attached one first
                }

                fd = AddRef(d.ReadFd);
                shared = true;
            }
        }

        // Otherwise the entry went meanwhile: the fd is the caller's own.
        return 0;
    }

    /// <summary>Reads a host symlink. Returns the target, or null with -errno.</summary>
    public string? ReadLink(string path, out long error)
    {
        error = Lookup(path, follow: false, out uint type);
        if (error < 0)
        {
            return null;
        }

        if (type != Abi.Stat.S_IFLNK)
        {
            error = -Errno.EINVAL.Value;
            return null;
        }

        lock (_mu)
        {
            if (_entries.TryGetValue((path, false), out HostDentry? d) && d.LinkTarget != null)
            {
                return d.LinkTarget;
            }
        }

        string? target = Files.ReadLink(path, out error);
        Interlocked.Increment(ref _misses);
        if (target == null)
        {
            return null;
        }

        error = 0;
        lock (_mu)
        {
            if (_entries.TryGetValue((path, false), out HostDentry? d) && d.Type == Abi.Stat.S_IFLNK)
            {
                d.LinkTarget = target;
            }
        }

        return target;
    }

    /// <summary>Forgets a path (both with and without following), after the overlay changed that name.</summary>
    public void Invalidate(string path)
    {
        lock (_mu)
        {
            RemoveLocked(path, follow: true);
            RemoveLocked(path, follow: false);
        }
    }

    // Asks the gofer for an O_PATH fd of the path and caches the answer (a file, or ENOENT), with where a symlink
    // on the way led.
    private long Fill(string path, bool follow, out uint type, out string? resolved)
    {
        type = 0;
        SafeFdHandle? fd = Files.Open(path, OpenFlags.O_PATH | (follow ? 0 : OpenFlags.O_NOFOLLOW), out resolved, out long r);
        Interlocked.Increment(ref _misses);
        if (fd == null)
        {
            if (r == -Errno.ENOENT.Value)
            {
                Insert(new HostDentry(path, follow, r, 0, null, resolved));
            }

            return r;
        }

        r = HostFile.Fstat(fd.Fd, out Stat st);
        if (r < 0)
        {
            fd.Dispose();
            return r;
        }

        type = st.st_mode & Abi.Stat.S_IFMT;
        Insert(new HostDentry(path, follow, 0, type, fd, resolved));
        return 0;
    }

    private void Insert(HostDentry d)
    {
        if (!Enabled)
        {
            d.Release();
            return;
        }

        lock (_mu)
        {
            if (!_entries.TryAdd((d.Path, d.Follow), d))
            {
                d.Release(); // another thread filled it first; keep one
                return;
            }

            LinkNewestLocked(d);
            while (_entries.Count > _capacity)
            {
                RemoveLocked(_oldest!.Path, _oldest.Follow);
            }
        }
    }

    // Preconditions: _mu is held. Marks a hit as most recently used.
    private HostDentry? FindLocked(string path, bool follow)
    {
        if (!_entries.TryGetValue((path, follow), out HostDentry? d))
        {
            return null;
        }

        _hits++;
        if (d != _newest)
        {
            UnlinkLocked(d);
            LinkNewestLocked(d);
        }

        return d;
    }

    // Preconditions: _mu is held.
    private void RemoveLocked(string path, bool follow)
    {
        if (_entries.Remove((path, follow), out HostDentry? d))
        {
            UnlinkLocked(d);
            d.Release();
        }
    }

    // Preconditions: _mu is held.
    private void LinkNewestLocked(HostDentry d)
    {
        d.Older = _newest;
        d.Newer = null;
        if (_newest != null)
        {
            _newest.Newer = d;
        }

        _newest = d;
        _oldest ??= d;
    }

    // Preconditions: _mu is held.
    private void UnlinkLocked(HostDentry d)
    {
        if (d.Newer != null)
        {
            d.Newer.Older = d.Older;
        }
        else
        {
            _newest = d.Older;
        }

        if (d.Older != null)
        {
            d.Older.Newer = d.Newer;
        }
        else
        {
            _oldest = d.Newer;
        }

        d.Newer = null;
        d.Older = null;
    }

    // Preconditions: _mu is held, so the handle cannot be disposed meanwhile.
    private static SafeFdHandle AddRef(SafeFdHandle fd)
    {
        bool added = false;
        fd.DangerousAddRef(ref added);
        return fd;
    }
}
