using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry.Loader;

/// <summary>An executable read through a host fd that the gofer opened.</summary>
internal sealed unsafe class HostExecutableFile : IExecutableFile, System.IDisposable
{
    private readonly SafeFdHandle _fd;

    private readonly Stat _st;

    // The open file the segments' mappings hold, as their vm_file: it owns the fd and outlives the load while a
    // segment is mapped, so a page a segment lacks (MADV_DONTNEED) is read from the file again.
    private readonly Vfs.HostFileDescription _description;

    public HostExecutableFile(SafeFdHandle fd, string path, in Stat st)
    {
        _fd = fd;
        _st = st;
        _description = new Vfs.HostFileDescription(fd, OpenFlags.O_RDONLY | OpenFlags.O_LARGEFILE);
        Path = path;
        Size = st.st_size;
        Owner = (st.st_mode, st.st_uid, st.st_gid);
        Id = _description.MappedFile(st.st_dev, st.st_ino);
    }

    public Mm.MappedFileId Id { get; }

    /// <summary>What a segment's private mapping reads a page it lacks from (the file, as filemap_fault does).</summary>
    public Mm.ISharedFilePages PagesFor(Mm.MemoryManager mm) => Vfs.HostCache.HostFilePages.For(_description, mm.MemoryFile);

    /// <summary>
    /// The page cache that may serve this file's segments: set when the sandbox cannot write the file (the
    /// root's host files, a read-only volume's), so the cached pages stay the file's.
    /// </summary>
    public Vfs.HostCache.HostPageCache? PageCache { get; private set; }

    /// <summary>
    /// Backs <paramref name="count"/> pages of a private mapping at <paramref name="start"/> with the page
    /// cache's copies of the file's pages from <paramref name="fileOffset"/>, copy-on-write. False when there is
    /// no cache for this file or it could not serve them (the loader then copies).
    /// </summary>
    public bool MapCached(Mm.MemoryManager mm, ulong start, ulong fileOffset, int count) =>
        PageCache is { } cache && _st.st_size <= Vfs.HostCache.HostPageCache.MaxFileSize &&
        cache.MapPrivate(mm, _fd.Fd, _st, start, (long)(fileOffset / Mman.PageSize), count);

    public string Path { get; }

    public long Size { get; }

    public (uint Mode, uint Uid, uint Gid) Owner { get; }

    public bool NoSuid { get; private set; }

    public long ReadAt(long offset, byte* dst, ulong count) => HostFile.PRead(_fd.Fd, dst, count, offset);

    // The fd goes with the description's last reference: this one, or the last segment mapping it.
    public void Dispose() => _description.DecRef();

    /// <summary>
    /// Opens an executable for loading, with execve(2)'s checks, from a Sentry tmpfs or the host root.
    /// Returns null with -errno.
    /// </summary>
    public static IExecutableFile? Open(Kernel.Kernel kernel, Vfs.Mounts.MountNamespace mounts, string path, Kernel.Credentials creds, out long error)
    {
        IExecutableFile? file = OpenOnMount(kernel, mounts, path, creds, out error, out Vfs.Mounts.MountFlags flags, out bool writableVolume);
        if (file is HostExecutableFile host)
        {
            host.NoSuid = (flags & Vfs.Mounts.MountFlags.NoSuid) != 0;
            host.PageCache = writableVolume ? null : kernel.HostPages;
        }

        return file;
    }

    private static IExecutableFile? OpenOnMount(Kernel.Kernel kernel, Vfs.Mounts.MountNamespace mounts, string path, Kernel.Credentials creds, out long error, out Vfs.Mounts.MountFlags flags, out bool writableVolume)
    {
        flags = 0;
        writableVolume = false;
        for (int hop = 0; hop < 40; hop++)
        {
            string norm = Vfs.PathResolver.Normalize(path);
            Vfs.Mounts.Mount m = mounts.Find(norm, out string rel);
            flags = m.Flags;
            if ((m.Flags & Vfs.Mounts.MountFlags.NoExec) != 0)
            {
                error = -Errno.EACCES.Value; // nothing on a noexec mount runs
                return null;
            }

            if (m.Volume is Vfs.Volume volume)
            {
                writableVolume = !volume.ReadOnly; // the sandbox may write the file: no page cache for it
                Vfs.PathStep vr = volume.OpenForExec(rel, out SafeFdHandle? vfd);
                if (vr.Continues)
                {
                    path = vr.Next;
                    continue;
                }

                error = vr.Result;
                return vr.Failed ? null : Checked(vfd!, path, creds, out error);
            }

            Vfs.Tmpfs.Tmpfs? fs = m.Tmpfs;
            if (fs == null)
            {
                // The overlay: its upper layer first, then the host.
                fs = kernel.Upper;
                string overlayPath = rel;
                rel = overlayPath.TrimStart('/');
                lock (fs.Mu)
                {
                    Vfs.PathStep ur = fs.WalkLocked(rel, followLast: true, out _);
                    if (ur.Result == -Errno.ENOENT.Value || ur.Result == -Errno.ENOTDIR.Value)
                    {
                        string hostPath = m.MountPoint.Length == 1 && m.Root.Length == 1 ? path : overlayPath;
                        if (kernel.HostCache.Resolved(hostPath, follow: true) is string next && Vfs.Overlay.LeadsIntoMount(mounts, next))
                        {
                            path = next; // a host link into a mount (a volume's program): run what the mount shows
                            continue;
                        }

                        return OpenHost(kernel.Files, hostPath, creds, out error);
                    }
                }
            }

            lock (fs.Mu)
            {
                Vfs.PathStep r = fs.WalkLocked(rel, followLast: true, out Vfs.Tmpfs.TmpfsNode? node, m);
                if (r.Continues)
                {
                    path = r.Next;
                    continue;
                }

                if (r.Failed)
                {
                    error = r.Result;
                    return null;
                }

                if (node is not Vfs.Tmpfs.TmpfsRegular reg || Vfs.Permissions.Check(creds, reg.ToStat(), Vfs.Permissions.MayExec) != Errno.None)
                {
                    error = -Errno.EACCES.Value;
                    return null;
                }

                error = 0;
                return new TmpfsExecutableFile(reg, norm) { NoSuid = (m.Flags & Vfs.Mounts.MountFlags.NoSuid) != 0 };
            }
        }

        error = -Errno.ELOOP.Value;
        return null;
    }

    private static HostExecutableFile? OpenHost(Kernel.IFileOpener files, string path, Kernel.Credentials creds, out long error)
    {
        SafeFdHandle? fd = files.Open(path, 0, out error);
        if (fd == null)
        {
            return null;
        }

        return Checked(fd, path, creds, out error);
    }

    // execve's checks on an opened file: a regular file the caller may execute.
    private static HostExecutableFile? Checked(SafeFdHandle fd, string path, Kernel.Credentials creds, out long error)
    {
        error = HostFile.Fstat(fd.Fd, out Stat st);
        if (error < 0)
        {
            fd.Dispose();
            return null;
        }

        if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFREG || Vfs.Permissions.Check(creds, st, Vfs.Permissions.MayExec) != Errno.None)
        {
            // execve(2) of a directory, device or file the caller may not execute.
            fd.Dispose();
            error = -Errno.EACCES.Value;
            return null;
        }

        return new HostExecutableFile(fd, path, st);
    }
}
