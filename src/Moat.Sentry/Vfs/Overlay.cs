using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The sandbox root: the host's root (read-only, through the gofer) under a tmpfs upper layer that takes
/// every change. Reading falls through to the host where the upper layer has nothing; writing copies a
/// host file up first; deleting a host name leaves a whiteout. Renaming a host directory answers EXDEV, as
/// overlayfs does without redirect_dir. The host is never changed.
/// Lock order: the upper layer's Mu is taken before any gofer call only for copy-up of one file.
/// </summary>
internal static class Overlay
{
    /// <summary>Where a path lives.</summary>
    private enum Where
    {
        Upper,
        Lower,
        Gone,
    }

    // Looks the normalised path up in the upper layer. Returns Upper with the node, Gone when a whiteout
    // or an opaque directory hides it, Lower otherwise. A symlink in the upper layer on the way continues the
    // walk at its target.
    private static PathStep Find(Tmpfs.Tmpfs upper, string norm, bool followLast, out Where where, out TmpfsNode? node)
    {
        where = Where.Lower;
        node = null;
        if (norm == "/")
        {
            where = Where.Upper;
            node = upper.Root;
            return PathStep.Ok;
        }

        string[] parts = norm[1..].Split('/');
        TmpfsDirectory dir = upper.Root;
        for (int i = 0; i < parts.Length; i++)
        {
            if (!dir.Children.TryGetValue(parts[i], out TmpfsNode? child))
            {
                where = dir.Opaque ? Where.Gone : Where.Lower;
                return PathStep.Ok;
            }

            if (child is TmpfsWhiteout)
            {
                where = Where.Gone;
                return PathStep.Ok;
            }

            bool last = i == parts.Length - 1;
            if (child is TmpfsSymlink link && (!last || followLast))
            {
                string dirPath = "/" + string.Join('/', parts, 0, i);
                string target = PathStep.LinkTarget(dirPath, link.Target);
                return PathStep.ContinueAt(last ? target : target + "/" + string.Join('/', parts, i + 1, parts.Length - i - 1));
            }

            if (last)
            {
                where = Where.Upper;
                node = child;
                return PathStep.Ok;
            }

            if (child is not TmpfsDirectory d)
            {
                // A file of the upper layer where the path needs a directory.
                where = Where.Gone;
                return PathStep.Fail(Errno.ENOTDIR);
            }

            dir = d;
        }

        return PathStep.Ok;
    }

    /// <summary>
    /// Whether a directory above <paramref name="norm"/>'s last component is a symlink, of the upper layer or of
    /// the host: an operation that makes or removes a name must then start again from the link's target
    /// (returns true with it), because the upper layer would otherwise copy the link up as a directory or refuse
    /// it as ENOTDIR. False when the parents are directories, or for the operation to report what is wrong.
    /// </summary>
    public static bool ParentLink(Task t, string norm, [NotNullWhen(true)] out string? restart)
    {
        restart = null;
        int cut = norm.LastIndexOf('/');
        if (cut <= 0)
        {
            return false;
        }

        string[] parts = norm[1..cut].Split('/');
        Tmpfs.Tmpfs upper = t.Kernel.Upper;
        int i = 0;
        lock (upper.Mu)
        {
            TmpfsDirectory dir = upper.Root;
            for (; i < parts.Length; i++)
            {
                if (!dir.Children.TryGetValue(parts[i], out TmpfsNode? child))
                {
                    if (dir.Opaque)
                    {
                        return false;
                    }

                    break; // this directory and those below it exist only on the host, if at all
                }

                if (child is TmpfsSymlink link)
                {
                    restart = Retarget(parts, i, link.Target, norm[cut..]);
                    return true;
                }

                if (child is not TmpfsDirectory d)
                {
                    return false;
                }

                dir = d;
            }
        }

        for (; i < parts.Length; i++)
        {
            string walked = "/" + string.Join('/', parts, 0, i + 1);
            if (t.Kernel.HostCache.Stat(walked, follow: false, out Stat st) < 0)
            {
                return false;
            }

            if ((st.st_mode & Stat.S_IFMT) == Stat.S_IFLNK)
            {
                string? target = t.Kernel.HostCache.ReadLink(walked, out _);
                if (target is not { Length: > 0 })
                {
                    return false;
                }

                restart = Retarget(parts, i, target, norm[cut..]);
                return true;
            }

            if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
            {
                return false;
            }
        }

        return false;
    }

    // The path with the link at parts[i] replaced by its target (relative to the link's directory).
    private static string Retarget(string[] parts, int i, string target, string lastWithSlash)
    {
        string dirPath = "/" + string.Join('/', parts, 0, i);
        string start = PathStep.LinkTarget(dirPath, target);
        string rest = i + 1 < parts.Length ? "/" + string.Join('/', parts, i + 1, parts.Length - i - 1) : string.Empty;
        return start + rest + lastWithSlash;
    }

    /// <summary>Opens a path of the root: done with the file, failed, or continuing at an upper-layer symlink's target.</summary>
    public static PathStep Open(Task t, string absolute, string norm, int flags, int mode, out FileDescription? file)
    {
        file = null;
        Tmpfs.Tmpfs upper = t.Kernel.Upper;
        bool create = (flags & OpenFlags.O_CREAT) != 0;
        bool follow = (flags & OpenFlags.O_NOFOLLOW) == 0 && !(create && (flags & OpenFlags.O_EXCL) != 0);
        lock (upper.Mu)
        {
            PathStep step = Find(upper, norm, follow, out Where where, out TmpfsNode? node);
            if (step.Continues || step.Failed)
            {
                return step;
            }

            return where == Where.Lower && LeadsIntoMount(t, absolute, follow, out string? next) ? PathStep.ContinueAt(next)
                : PathStep.Done(OpenFoundLocked(t, upper, absolute, norm, flags, mode, where, node, out file));
        }
    }

    // Opens a path Find placed (no upper-layer link on the way). Preconditions: upper.Mu is held.
    private static long OpenFoundLocked(Task t, Tmpfs.Tmpfs upper, string absolute, string norm, int flags, int mode, Where where, TmpfsNode? node, out FileDescription? file)
    {
        file = null;
        bool create = (flags & OpenFlags.O_CREAT) != 0;
        bool follow = (flags & OpenFlags.O_NOFOLLOW) == 0 && !(create && (flags & OpenFlags.O_EXCL) != 0);
        bool write = (flags & OpenFlags.O_PATH) == 0 &&
            ((flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY || (flags & OpenFlags.O_TRUNC) != 0);
        long r;
        if (where == Where.Upper)
        {
            return create && (flags & OpenFlags.O_EXCL) != 0 ? -Errno.EEXIST.Value : OpenUpperLocked(t, upper, node!, norm, flags, out file);
        }

        if (where == Where.Lower && !write && !create)
        {
            // A read-only or O_PATH open of a host file: one gofer round trip, no probe.
            return OpenLower(t, absolute, norm, flags, out file);
        }

        bool lowerExists = false;
        Stat lowerStat = default;
        if (where == Where.Lower)
        {
            long pr = t.Kernel.HostCache.Stat(absolute, follow, out lowerStat);
            if (pr < 0 && pr != -Errno.ENOENT.Value)
            {
                return pr;
            }

            lowerExists = pr == 0;
        }

        if (lowerExists && create && (flags & OpenFlags.O_EXCL) != 0)
        {
            return -Errno.EEXIST.Value;
        }

        if (lowerExists && !write)
        {
            return OpenLower(t, absolute, norm, flags, out file);
        }

        if (lowerExists)
        {
            // A write to a host file: copy it up, then write the copy.
            if ((lowerStat.st_mode & Stat.S_IFMT) == Stat.S_IFDIR)
            {
                return -Errno.EISDIR.Value;
            }

            if ((lowerStat.st_mode & Stat.S_IFMT) != Stat.S_IFREG)
            {
                return -Errno.EACCES.Value;
            }

            if (t.Kernel.RootReadOnly)
            {
                return -Errno.EROFS.Value;
            }

            r = CopyUpLocked(t, upper, absolute, norm, out node);
            return r < 0 ? r : OpenUpperLocked(t, upper, node!, norm, flags, out file);
        }

        if (!create)
        {
            return -Errno.ENOENT.Value;
        }

        r = ParentLocked(t, upper, norm, out TmpfsDirectory? parent, out string name);
        if (r < 0)
        {
            return r;
        }

        if (t.Kernel.RootReadOnly)
        {
            return -Errno.EROFS.Value;
        }

        (uint uid, uint gid, uint perm) = PathOps.NewOwner(t, parent!, (uint)(mode & ~t.Group.Umask) & 0xFFF, isDir: false);
        var f = new TmpfsRegular(upper, perm, uid, gid);
        parent!.Children[name] = f;
        parent.Touch(modified: true);
        t.Kernel.HostCache.Invalidate(norm);
        return OpenUpperLocked(t, upper, f, norm, flags, out file);
    }

    /// <summary>
    /// A host file's attributes as the overlay shows them: a directory of the host's root file system is one
    /// of the overlay's (its device), as overlayfs shows directories, so the root is one file system for
    /// `find -xdev`, `du -x` and `tar --one-file-system`; files keep the host's device, and host directories
    /// of other file systems mounted below the root (/sys, /run) keep theirs, as mounts do.
    /// </summary>
    public static void AsSeen(Kernel.Kernel k, ref Stat st)
    {
        if ((st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR && st.st_dev == k.HostRootDevice)
        {
            st.st_dev = k.Upper.Device;
        }
    }

    /// <summary>Stats a path of the root without opening it: done, failed, or continuing at an upper-layer symlink's target.</summary>
    public static PathStep StatPath(Task t, string absolute, string norm, bool follow, out Stat st)
    {
        st = default;
        Tmpfs.Tmpfs upper = t.Kernel.Upper;
        lock (upper.Mu)
        {
            PathStep step = Find(upper, norm, follow, out Where where, out TmpfsNode? node);
            if (step.Continues || step.Failed)
            {
                return step;
            }

            if (where == Where.Upper)
            {
                st = node!.ToStat();
                return PathStep.Ok;
            }

            if (where == Where.Gone)
            {
                return PathStep.Fail(Errno.ENOENT);
            }
        }

        if (LeadsIntoMount(t, absolute, follow, out string? next))
        {
            return PathStep.ContinueAt(next);
        }

        long hr = t.Kernel.HostCache.Stat(absolute, follow, out st);
        if (hr == 0)
        {
            AsSeen(t.Kernel, ref st);
        }

        return PathStep.Done(hr);
    }

    /// <summary>
    /// Whether a host symlink on the way to a lower path leads where the namespace mounts something else than
    /// the host's directory (/etc/mtab -> /proc/mounts, a link to a volume's or a tmpfs's path): the walk then goes
    /// on at <paramref name="next"/> through the mount table, as Linux's walk crosses the mount, rather than the
    /// gofer reading what the host keeps below the mount point. A link that stays on the root overlay is left to
    /// the host.
    /// </summary>
    public static bool LeadsIntoMount(Task t, string absolute, bool follow, [NotNullWhen(true)] out string? next)
    {
        next = t.Kernel.HostCache.Resolved(absolute, follow);
        return next != null && LeadsIntoMount(t.Group.Mounts, next);
    }

    /// <summary>Whether the host path a link led to is shown by another mount than the root overlay.</summary>
    public static bool LeadsIntoMount(Mounts.MountNamespace mounts, string resolved) =>
        mounts.Find(PathResolver.Normalize(resolved), out _) is not { Kind: Mounts.MountKind.Overlay, MountPoint: "/", Root: "/" };

    private static long OpenUpperLocked(Task t, Tmpfs.Tmpfs upper, TmpfsNode node, string norm, int flags, out FileDescription? file)
    {
        file = null;
        int acc = flags & OpenFlags.O_ACCMODE;
        if (node is TmpfsSymlink && (flags & OpenFlags.O_PATH) == 0)
        {
            return -Errno.ELOOP.Value;
        }

        if (node is TmpfsSocketNode && (flags & OpenFlags.O_PATH) == 0)
        {
            return -Errno.ENXIO.Value;
        }

        if ((flags & OpenFlags.O_DIRECTORY) != 0 && node is not TmpfsDirectory)
        {
            return -Errno.ENOTDIR.Value;
        }

        if (node is TmpfsFifo fifo && (flags & OpenFlags.O_PATH) == 0)
        {
            return PipeEnd.OpenFifoLocked(fifo, flags, norm, out file);
        }

        if (node is TmpfsDeviceNode device && (flags & OpenFlags.O_PATH) == 0)
        {
            // A node made by mknod: the Sentry's own device, as in /dev.
            return Devpts.Devpts.Serves(device) ? t.Kernel.Devpts.Open(t, device, flags, norm, out file) : DeviceFile.Open(device, flags, norm, out file);
        }

        if (node is TmpfsDirectory dir)
        {
            if ((flags & OpenFlags.O_PATH) == 0 && (acc != OpenFlags.O_RDONLY || (flags & OpenFlags.O_TRUNC) != 0))
            {
                return -Errno.EISDIR.Value;
            }

            if (!dir.Opaque && (flags & OpenFlags.O_PATH) == 0)
            {
                // A directory of both layers: list both, the upper one winning.
                file = new SnapshotDirectory(MergedEntriesLocked(t, dir, norm), norm, dir.ToStat());
                return 0;
            }
        }

        if (node is TmpfsRegular reg && (flags & OpenFlags.O_TRUNC) != 0 && acc != OpenFlags.O_RDONLY)
        {
            reg.Truncate(0);
            reg.Mode = Permissions.ModeAfterWrite(t.Credentials, reg.Mode, reg.Gid);
        }

        file = new TmpfsFile(node, (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_DIRECTORY | OpenFlags.O_PATH)) | OpenFlags.O_LARGEFILE, norm);
        return 0;
    }

    private static long OpenLower(Task t, string absolute, string norm, int flags, out FileDescription? file)
    {
        file = null;
        int status = (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_PATH | OpenFlags.O_NOATIME)) | OpenFlags.O_LARGEFILE;
        bool pathOnly = (flags & OpenFlags.O_PATH) != 0;
        long cr = t.Kernel.HostCache.Acquire(absolute, (flags & OpenFlags.O_NOFOLLOW) == 0, read: !pathOnly, out SafeFdHandle? cached, out bool shared, out uint type);
        if (cr < 0)
        {
            return cr;
        }

        if (cr == 0)
        {
            // From the dentry cache: no gofer round trip.
            if ((flags & OpenFlags.O_DIRECTORY) != 0 && type != Stat.S_IFDIR)
            {
                if (shared)
                {
                    cached!.DangerousRelease();
                }
                else
                {
                    cached!.Dispose();
                }

                return -Errno.ENOTDIR.Value;
            }

            file = new HostFileDescription(cached!, status, shared) { Path = norm, Overlay = t.Kernel };
            return 0;
        }

        // A directory opened for listing (it needs an offset of its own), a special file, or the cache is off.
        int hostFlags = flags & (OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK);
        SafeFdHandle? fd = t.Kernel.Files.Open(absolute, hostFlags, out long r);
        if (fd == null)
        {
            return r;
        }

        if ((flags & OpenFlags.O_PATH) == 0 && HostFile.Fstat(fd.Fd, out Stat st) == 0 && (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR && HasWhiteoutsBelow(t, norm))
        {
            // The upper layer deleted names inside this host directory: list it merged.
            fd.Dispose();
            AsSeen(t.Kernel, ref st);
            file = new SnapshotDirectory(MergedEntriesLocked(t, null, norm), norm, st);
            return 0;
        }

        file = new HostFileDescription(fd, status) { Path = norm, Overlay = t.Kernel };
        return 0;
    }

    private static bool HasWhiteoutsBelow(Task t, string norm)
    {
        PathStep r = Find(t.Kernel.Upper, norm, true, out Where where, out TmpfsNode? node);
        return !r.Continues && !r.Failed && where == Where.Upper && node is TmpfsDirectory;
    }

    // Entries of the upper directory (if any) plus the host directory's, minus whiteouts and shadowed names,
    // each with the inode number stat reports for it (the upper node's, or the host's d_ino).
    private static List<(string, byte, ulong)> MergedEntriesLocked(Task t, TmpfsDirectory? dir, string norm)
    {
        var result = new List<(string, byte, ulong)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (dir != null)
        {
            foreach ((string name, TmpfsNode child) in dir.Children)
            {
                seen.Add(name);
                if (child is not TmpfsWhiteout)
                {
                    result.Add((name, child switch { TmpfsDirectory => 4, TmpfsSymlink => 10, TmpfsSocketNode => 12, _ => 8 }, child.Ino));
                }
            }
        }

        using SafeFdHandle? fd = t.Kernel.Files.Open(norm, OpenFlags.O_DIRECTORY, out _);
        if (fd == null)
        {
            return result;
        }

        byte[] buf = new byte[32768];
        while (true)
        {
            long n;
            unsafe
            {
                fixed (byte* p = buf)
                {
                    n = HostProcess.Syscall(Sysno.getdents64, fd.Fd, (long)p, buf.Length);
                }
            }

            if (n <= 0)
            {
                break;
            }

            for (int off = 0; off < n;)
            {
                ushort reclen = BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(off + 16));
                byte type = buf[off + 18];
                int end = Array.IndexOf(buf, (byte)0, off + 19);
                string name = LinuxString.Encoding.GetString(buf, off + 19, end - off - 19);
                if (name is not ("." or "..") && seen.Add(name))
                {
                    result.Add((name, type, BinaryPrimitives.ReadUInt64LittleEndian(buf.AsSpan(off))));
                }

                off += reclen;
            }
        }

        return result;
    }

    // The upper directory that will hold norm's last component, copying up the host directories above it.
    private static long ParentLocked(Task t, Tmpfs.Tmpfs upper, string norm, out TmpfsDirectory? parent, out string name)
    {
        int slash = norm.LastIndexOf('/');
        name = norm[(slash + 1)..];
        parent = null;
        if (name.Length == 0)
        {
            return -Errno.EEXIST.Value;
        }

        if (LinuxString.Encoding.GetByteCount(name) > 255)
        {
            return -Errno.ENAMETOOLONG.Value;
        }

        string parentPath = slash <= 0 ? "/" : norm[..slash];
        TmpfsDirectory dir = upper.Root;
        string walked = string.Empty;
        foreach (string part in parentPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            walked += "/" + part;
            if (dir.Children.TryGetValue(part, out TmpfsNode? child))
            {
                if (child is TmpfsWhiteout)
                {
                    return -Errno.ENOENT.Value;
                }

                if (child is not TmpfsDirectory d)
                {
                    return -Errno.ENOTDIR.Value;
                }

                dir = d;
                continue;
            }

            if (dir.Opaque)
            {
                return -Errno.ENOENT.Value;
            }

            // Copy the host directory up (its metadata only; its entries stay below).
            long r = t.Kernel.HostCache.Stat(walked, follow: true, out Stat st);
            if (r < 0)
            {
                return r;
            }

            if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
            {
                return -Errno.ENOTDIR.Value;
            }

            var copy = new TmpfsDirectory(upper, dir, st.st_mode & 0xFFF, st.st_uid, st.st_gid)
            {
                Mtime = new Timespec { tv_sec = st.st_mtime, tv_nsec = st.st_mtime_nsec },
                Atime = new Timespec { tv_sec = st.st_atime, tv_nsec = st.st_atime_nsec },
            };
            dir.Children[part] = copy;
            t.Kernel.HostCache.Invalidate(walked);
            dir.Nlink++;
            dir = copy;
        }

        parent = dir;
        return 0;
    }

    // Copies a host regular file into the upper layer, with its mode, owner and times.
    private static unsafe long CopyUpLocked(Task t, Tmpfs.Tmpfs upper, string absolute, string norm, out TmpfsNode? node)
    {
        node = null;
        long r = ParentLocked(t, upper, norm, out TmpfsDirectory? parent, out string name);
        if (r < 0)
        {
            return r;
        }

        using SafeFdHandle? fd = t.Kernel.Files.Open(absolute, 0, out r);
        if (fd == null)
        {
            return r;
        }

        HostFile.Fstat(fd.Fd, out Stat st);
        var copy = new TmpfsRegular(upper, st.st_mode & 0xFFF, st.st_uid, st.st_gid);
        byte[] buf = new byte[1 << 16];
        long off = 0;
        while (true)
        {
            long n;
            fixed (byte* p = buf)
            {
                n = HostFile.PRead(fd.Fd, p, (ulong)buf.Length, off);
            }

            if (n < 0)
            {
                copy.ReleaseData();
                return n;
            }

            if (n == 0)
            {
                break;
            }

            long w = copy.Write(off, buf.AsSpan(0, (int)n));
            if (w < 0)
            {
                copy.ReleaseData();
                return w;
            }

            off += n;
        }

        copy.Mtime = new Timespec { tv_sec = st.st_mtime, tv_nsec = st.st_mtime_nsec };
        copy.Atime = new Timespec { tv_sec = st.st_atime, tv_nsec = st.st_atime_nsec };
        parent!.Children[name] = copy;
        node = copy;
        t.Kernel.HostCache.Invalidate(norm);
        return 0;
    }

    // Copies a host symlink into the upper layer, with its owner and times.
    private static long CopyUpSymlinkLocked(Task t, Tmpfs.Tmpfs upper, string norm, in Stat lower, out TmpfsNode? node)
    {
        node = null;
        string? target = t.Kernel.HostCache.ReadLink(norm, out long r);
        if (target == null)
        {
            return r;
        }

        r = ParentLocked(t, upper, norm, out TmpfsDirectory? parent, out string name);
        if (r < 0)
        {
            return r;
        }

        var link = new TmpfsSymlink(upper, target, lower.st_uid, lower.st_gid)
        {
            Mtime = new Timespec { tv_sec = lower.st_mtime, tv_nsec = lower.st_mtime_nsec },
            Atime = new Timespec { tv_sec = lower.st_atime, tv_nsec = lower.st_atime_nsec },
        };
        parent!.Children[name] = link;
        t.Kernel.HostCache.Invalidate(norm);
        node = link;
        return 0;
    }

    /// <summary>Reads a symlink of the root: done with the target, failed, or continuing at an upper-layer symlink's target.</summary>
    public static PathStep ReadLink(Task t, string absolute, string norm, out string target)
    {
        target = string.Empty;
        Tmpfs.Tmpfs upper = t.Kernel.Upper;
        lock (upper.Mu)
        {
            PathStep step = Find(upper, norm, followLast: false, out Where where, out TmpfsNode? node);
            if (step.Continues || step.Failed)
            {
                return step;
            }

            if (where == Where.Gone)
            {
                return PathStep.Fail(Errno.ENOENT);
            }

            if (where == Where.Upper)
            {
                if (node is not TmpfsSymlink link)
                {
                    return PathStep.Fail(Errno.EINVAL);
                }

                target = link.Target;
                return PathStep.Ok;
            }
        }

        if (LeadsIntoMount(t, absolute, follow: false, out string? next))
        {
            return PathStep.ContinueAt(next);
        }

        string? host = t.Kernel.HostCache.ReadLink(absolute, out long hr);
        if (host == null)
        {
            return PathStep.Done(hr);
        }

        target = host;
        return PathStep.Ok;
    }

    /// <summary>Creates a directory, symlink or (with <paramref name="linkTo"/>) hard link at a root path.</summary>
    public static long Create(Task t, string norm, int mode, string? symlinkTarget, TmpfsNode? linkTo)
    {
        Tmpfs.Tmpfs upper = t.Kernel.Upper;
        lock (upper.Mu)
        {
            PathStep found = Find(upper, norm, followLast: false, out Where where, out _);
            if (found.Failed)
            {
                return found.Result; // a link on the way was resolved by the caller (ParentLink, ResolveLinks)
            }

            if (where == Where.Upper || (where == Where.Lower && LowerExists(t, norm)))
            {
                return -Errno.EEXIST.Value;
            }

            long r = ParentLocked(t, upper, norm, out TmpfsDirectory? parent, out string name);
            if (r < 0)
            {
                return r;
            }

            if (t.Kernel.RootReadOnly)
            {
                return -Errno.EROFS.Value;
            }

            System.Diagnostics.Debug.Assert(parent != null);
            TmpfsNode node;
            if (linkTo != null)
            {
                node = linkTo;
                node.Nlink++;
            }
            else if (symlinkTarget != null)
            {
                (uint uid, uint gid, _) = PathOps.NewOwner(t, parent, 0, isDir: false);
                node = new TmpfsSymlink(upper, symlinkTarget, uid, gid);
            }
            else
            {
                (uint uid, uint gid, uint perm) = PathOps.NewOwner(t, parent, (uint)(mode & ~t.Group.Umask) & 0xFFF, isDir: true);
                var d = new TmpfsDirectory(upper, parent, perm, uid, gid)
                {
                    // Opaque always: the host has nothing at this path (else EEXIST above), or what it has was deleted
                    // (a whiteout) or lies below a deleted directory (an opaque parent). Either way the new directory
                    // shows none of it, nor may a directory made inside it later (rm -rf d; mkdir -p d/a/b once
                    // showed the host's d/a/b).
                    Opaque = true,
                };
                parent.Nlink++;
                node = d;
            }

            parent.Children[name] = node;
            parent.Touch(modified: true);
            t.Kernel.HostCache.Invalidate(norm);
            return 0;
        }
    }

    /// <summary>
    /// Makes the directory a volume is mounted on, in the upper layer (host directories on the way are
    /// copied up, as for any creation), so that listing its parent shows it, as docker creates its mount
    /// points. Does nothing where the host already has a directory; gives up where a file is in the way.
    /// </summary>
    public static void MakeMountPoint(Kernel.Kernel k, string norm, bool isFile)
    {
        if (k.HostCache.Stat(norm, follow: true, out Stat hs) == 0 && ((hs.st_mode & Stat.S_IFMT) == Stat.S_IFDIR) != isFile)
        {
            return;
        }

        Tmpfs.Tmpfs upper = k.Upper;
        lock (upper.Mu)
        {
            TmpfsDirectory dir = upper.Root;
            string walked = string.Empty;
            string[] parts = norm.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < parts.Length; i++)
            {
                string part = parts[i];
                walked += "/" + part;
                if (dir.Children.TryGetValue(part, out TmpfsNode? child))
                {
                    if (child is not TmpfsDirectory d)
                    {
                        return;
                    }

                    dir = d;
                    continue;
                }

                if (isFile && i == parts.Length - 1)
                {
                    // A single file's mount point: an empty file where the image has none.
                    dir.Children[part] = new TmpfsRegular(upper, 0x1A4, 0, 0);
                    k.HostCache.Invalidate(walked);
                    return;
                }

                uint perm = 0x1ED; // 0755
                uint uid = 0;
                uint gid = 0;
                if (!dir.Opaque && k.HostCache.Stat(walked, follow: true, out Stat st) == 0)
                {
                    if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
                    {
                        return;
                    }

                    (perm, uid, gid) = (st.st_mode & 0xFFF, st.st_uid, st.st_gid);
                }

                var copy = new TmpfsDirectory(upper, dir, perm, uid, gid);
                dir.Children[part] = copy;
                dir.Nlink++;
                k.HostCache.Invalidate(walked);
                dir = copy;
            }
        }
    }

    private static bool LowerExists(Task t, string norm) => t.Kernel.HostCache.Lookup(norm, follow: false, out _) == 0;

    /// <summary>Implements unlink and rmdir on a root path: upper names go, host names get a whiteout.</summary>
    public static long Remove(Task t, string norm, bool directory)
    {
        Tmpfs.Tmpfs upper = t.Kernel.Upper;
        lock (upper.Mu)
        {
            PathStep found = Find(upper, norm, followLast: false, out Where where, out TmpfsNode? node);
            if (found.Failed)
            {
                return found.Result; // a link on the way was resolved by the caller (ParentLink, ResolveLinks)
            }

            if (t.Kernel.RootReadOnly)
            {
                // Linux asks the mount for write access before it looks the name up.
                return -Errno.EROFS.Value;
            }

            if (where == Where.Gone)
            {
                return -Errno.ENOENT.Value;
            }

            // An opaque directory hides the host's entries, not the host's name: removing it still needs a whiteout.
            bool opaque = where == Where.Upper && node is TmpfsDirectory { Opaque: true };
            bool inLower = LowerExists(t, norm);
            Stat lowerStat = default;
            if (inLower)
            {
                t.Kernel.HostCache.Stat(norm, follow: false, out lowerStat);
            }

            if (where == Where.Lower && !inLower)
            {
                return -Errno.ENOENT.Value;
            }

            bool isDir = where == Where.Upper ? node is TmpfsDirectory : (lowerStat.st_mode & Stat.S_IFMT) == Stat.S_IFDIR;
            if (directory && !isDir)
            {
                return -Errno.ENOTDIR.Value;
            }

            if (!directory && isDir)
            {
                return -Errno.EISDIR.Value;
            }

            if (isDir)
            {
                // Empty means: no live upper entry, and nothing of the host's left visible.
                TmpfsDirectory? upperDir = where == Where.Upper ? (TmpfsDirectory)node! : null;
                bool empty = upperDir == null || AllWhiteouts(upperDir.Children.Values);
                if (empty && inLower && !opaque)
                {
                    empty = MergedEntriesLocked(t, upperDir, norm).Count == 0;
                }

                if (!empty)
                {
                    return -Errno.ENOTEMPTY.Value;
                }
            }

            long r = ParentLocked(t, upper, norm, out TmpfsDirectory? parent, out string leaf);
            if (r < 0)
            {
                return r;
            }

            if (parent!.Children.Remove(leaf, out TmpfsNode? removed) && removed is not TmpfsWhiteout)
            {
                if (removed is TmpfsDirectory)
                {
                    parent.Nlink--;
                    removed.Nlink = 0;
                }
                else
                {
                    Tmpfs.Tmpfs.Unlinked(removed);
                }
            }

            if (inLower)
            {
                parent.Children[leaf] = new TmpfsWhiteout(upper);
            }

            parent.Touch(modified: true);
            t.Kernel.HostCache.Invalidate(norm);
            return 0;
        }
    }

    private static bool AllWhiteouts(IEnumerable<TmpfsNode> nodes)
    {
        foreach (TmpfsNode n in nodes)
        {
            if (n is not TmpfsWhiteout)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Makes sure a root path's file lives in the upper layer (copy-up), for a change of its metadata: a
    /// file with its data, a directory with its attributes only, a symlink (<paramref name="follow"/> false:
    /// the caller resolves a followed path first, <see cref="PathOps.ResolveLinks"/>).
    /// </summary>
    public static long CopyUp(Task t, string absolute, string norm, bool follow, out TmpfsNode? node)
    {
        Tmpfs.Tmpfs upper = t.Kernel.Upper;
        lock (upper.Mu)
        {
            PathStep found = Find(upper, norm, followLast: follow, out Where where, out node);
            if (found.Failed)
            {
                return found.Result; // a link on the way was resolved by the caller (ParentLink, ResolveLinks)
            }

            if (t.Kernel.RootReadOnly)
            {
                return where == Where.Upper || (where == Where.Lower && LowerExists(t, norm)) ? -Errno.EROFS.Value : -Errno.ENOENT.Value;
            }

            if (where == Where.Upper)
            {
                return 0;
            }

            if (where == Where.Gone || t.Kernel.HostCache.Stat(norm, follow: false, out Stat lower) < 0)
            {
                return -Errno.ENOENT.Value;
            }

            switch (lower.st_mode & Stat.S_IFMT)
            {
                case Stat.S_IFDIR:
                    // Its attributes only: the entries stay below and the directory lists merged.
                    long r2 = ParentLocked(t, upper, norm + "/.", out TmpfsDirectory? copy, out _);
                    node = copy;
                    return r2;
                case Stat.S_IFLNK:
                    return CopyUpSymlinkLocked(t, upper, norm, lower, out node);
                default:
                    return CopyUpLocked(t, upper, absolute, norm, out node);
            }
        }
    }

    /// <summary>
    /// RENAME_EXCHANGE within the root, for names only the upper layer has; a name of the host's answers
    /// EXDEV (a gap: overlayfs would copy a file up first).
    /// </summary>
    public static long Exchange(Task t, string fromNorm, string toNorm)
    {
        Tmpfs.Tmpfs upper = t.Kernel.Upper;
        lock (upper.Mu)
        {
            PathStep found = Find(upper, fromNorm, followLast: false, out Where fromWhere, out _);
            PathStep found2 = Find(upper, toNorm, followLast: false, out Where toWhere, out _);
            if (found.Failed || found2.Failed)
            {
                return found.Failed ? found.Result : found2.Result;
            }

            if (t.Kernel.RootReadOnly)
            {
                return -Errno.EROFS.Value;
            }

            bool fromLower = LowerExists(t, fromNorm);
            bool toLower = LowerExists(t, toNorm);
            if ((fromWhere != Where.Upper && !fromLower) || (toWhere != Where.Upper && !toLower))
            {
                return -Errno.ENOENT.Value;
            }

            if (fromLower || toLower)
            {
                return -Errno.EXDEV.Value;
            }

            long r = ParentLocked(t, upper, fromNorm, out TmpfsDirectory? op, out string oldName);
            if (r < 0)
            {
                return r;
            }

            r = ParentLocked(t, upper, toNorm, out TmpfsDirectory? np, out string newName);
            if (r < 0)
            {
                return r;
            }

            r = PathOps.ExchangeLocked(op!, oldName, np!, newName);
            t.Kernel.HostCache.Invalidate(fromNorm);
            t.Kernel.HostCache.Invalidate(toNorm);
            return r;
        }
    }

    /// <summary>Renames within the root: files are copied up first; host directories answer EXDEV.</summary>
    public static long Rename(Task t, string fromNorm, string toNorm, bool noReplace)
    {
        Tmpfs.Tmpfs upper = t.Kernel.Upper;
        lock (upper.Mu)
        {
            PathStep found = Find(upper, fromNorm, followLast: false, out Where where, out TmpfsNode? node);
            if (found.Failed)
            {
                return found.Result; // a link on the way was resolved by the caller (ParentLink, ResolveLinks)
            }

            long r;
            if (t.Kernel.RootReadOnly)
            {
                return -Errno.EROFS.Value;
            }

            if (where == Where.Gone)
            {
                return -Errno.ENOENT.Value;
            }

            bool fromLower = LowerExists(t, fromNorm);
            if (where == Where.Lower)
            {
                if (!fromLower)
                {
                    return -Errno.ENOENT.Value;
                }

                t.Kernel.HostCache.Stat(fromNorm, follow: false, out Stat st);
                uint type = st.st_mode & Stat.S_IFMT;
                if (type == Stat.S_IFDIR)
                {
                    return -Errno.EXDEV.Value;
                }

                if (type == Stat.S_IFLNK)
                {
                    string? target = t.Kernel.HostCache.ReadLink(fromNorm, out r);
                    if (target == null)
                    {
                        return r;
                    }

                    r = ParentLocked(t, upper, fromNorm, out TmpfsDirectory? lp, out string ln);
                    if (r < 0)
                    {
                        return r;
                    }

                    node = new TmpfsSymlink(upper, target, st.st_uid, st.st_gid);
                    lp!.Children[ln] = node;
                }
                else if (type == Stat.S_IFREG)
                {
                    r = CopyUpLocked(t, upper, fromNorm, fromNorm, out node);
                    if (r < 0)
                    {
                        return r;
                    }
                }
                else
                {
                    return -Errno.EXDEV.Value;
                }
            }
            else if (node is TmpfsDirectory && fromLower)
            {
                return -Errno.EXDEV.Value;
            }

            // Both names now resolve in the upper layer's directories.
            r = ParentLocked(t, upper, fromNorm, out TmpfsDirectory? op, out string oldName);
            if (r < 0)
            {
                return r;
            }

            r = ParentLocked(t, upper, toNorm, out TmpfsDirectory? np, out string newName);
            if (r < 0)
            {
                return r;
            }

            if (node is TmpfsDirectory movingDir && PathOps.IsWithin(np!, movingDir))
            {
                return -Errno.EINVAL.Value; // a directory cannot move into itself or below itself
            }

            bool toLower = LowerExists(t, toNorm);
            TmpfsNode? existing = np!.Children.GetValueOrDefault(newName);
            if (existing is TmpfsWhiteout)
            {
                existing = null;
            }

            if ((existing != null || toLower) && noReplace)
            {
                return -Errno.EEXIST.Value;
            }

            if (existing != null)
            {
                if (existing is TmpfsDirectory ed && (node is not TmpfsDirectory || ed.Children.Count > 0))
                {
                    return node is TmpfsDirectory ? -Errno.ENOTEMPTY.Value : -Errno.EISDIR.Value;
                }

                Tmpfs.Tmpfs.Unlinked(existing);
            }

            op!.Children.Remove(oldName);
            if (fromLower)
            {
                op.Children[oldName] = new TmpfsWhiteout(upper);
            }

            np.Children[newName] = node!;
            if (node is TmpfsDirectory moved)
            {
                moved.Parent = np;
            }

            op.Touch(modified: true);
            np.Touch(modified: true);
            t.Kernel.HostCache.Invalidate(fromNorm);
            t.Kernel.HostCache.Invalidate(toNorm);
            return 0;
        }
    }
}
