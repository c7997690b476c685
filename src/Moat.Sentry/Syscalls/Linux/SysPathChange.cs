using System;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;
using Moat.Sentry.Vfs.Inotify;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>Calls that change the file tree: mkdir, unlink, rmdir, rename, symlink, link, truncate, chmod, chown, utimensat.</summary>
internal static class SysPathChange
{
    private const int RENAME_NOREPLACE = 1;

    private static long Path(Task t, int dirfd, ulong addr, out string absolute) => PathResolver.CopyInAndResolve(t, dirfd, addr, out absolute);

    // A path whose last symlink the operation follows (matters under chroot: see RootedPath).
    private static long FollowedPath(Task t, int dirfd, ulong addr, out string absolute) => PathResolver.CopyInAndResolve(t, dirfd, addr, followLast: true, out absolute);

    private static long Path(Task t, int dirfd, ulong addr, bool followLast, out string absolute) => PathResolver.CopyInAndResolve(t, dirfd, addr, followLast, out absolute);

    // A change by path that succeeded is an inotify event on that file.
    private static long PathChanged(Task t, string p, bool follow, long r, uint ev)
    {
        if (r == 0 && Fsnotify.Active)
        {
            Fsnotify.OnPath(t, p, follow, ev);
        }

        return r;
    }

    // A change through an fd that succeeded is an inotify event on that file.
    private static long FileChanged(Task t, FileDescription f, uint ev, long r)
    {
        if (r == 0 && Fsnotify.Active)
        {
            Fsnotify.OnFile(t, f, ev);
        }

        return r;
    }

    // After unlink or rmdir: a file's link count changed (IN_ATTRIB); a directory or a last link is gone
    // (IN_DELETE_SELF, and true: its watches go, before the name's IN_DELETE, as Linux orders them).
    private static bool Unlinked(InodeKey key, in Stat st)
    {
        bool isDir = (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR;
        if (!isDir)
        {
            Fsnotify.OnInode(null, key, false, null, null, InotifyMask.IN_ATTRIB);
        }

        if (isDir || st.st_nlink <= 1)
        {
            Fsnotify.Deliver(key, InotifyMask.IN_DELETE_SELF, 0, null, false);
            return true;
        }

        return false;
    }

    /// <summary>Implements mkdir(2).</summary>
    public static long Mkdir(Task t, in SyscallArgs a) => Mkdirat(t, new SyscallArgs(unchecked((ulong)OpenFlags.AT_FDCWD), a[0], a[1]));

    /// <summary>Implements mkdirat(2).</summary>
    public static long Mkdirat(Task t, in SyscallArgs a)
    {
        long r = Path(t, a.Int(0), a.Pointer(1), out string p);
        r = r < 0 ? r : PathOps.Mkdir(t, p, a.Int(2));
        if (r == 0 && Fsnotify.Active)
        {
            Fsnotify.Entry(t, p, InotifyMask.IN_CREATE, 0, isDir: true);
        }

        return r;
    }

    /// <summary>Implements mknod(2).</summary>
    public static long Mknod(Task t, in SyscallArgs a) => Mknodat(t, new SyscallArgs(unchecked((ulong)OpenFlags.AT_FDCWD), a[0], a[1], a[2]));

    /// <summary>Implements mknodat(2): FIFOs, socket nodes, regular files and the sandbox's own character devices.</summary>
    public static long Mknodat(Task t, in SyscallArgs a)
    {
        long r = Path(t, a.Int(0), a.Pointer(1), out string p);
        r = r < 0 ? r : PathOps.Mknod(t, p, a.UInt(2), a.UInt(3));
        if (r == 0 && Fsnotify.Active)
        {
            Fsnotify.Entry(t, p, InotifyMask.IN_CREATE, 0, isDir: false);
        }

        return r;
    }

    /// <summary>Implements unlink(2).</summary>
    public static long Unlink(Task t, in SyscallArgs a) => Unlinkat(t, new SyscallArgs(unchecked((ulong)OpenFlags.AT_FDCWD), a[0], 0));

    /// <summary>Implements rmdir(2).</summary>
    public static long Rmdir(Task t, in SyscallArgs a) => Unlinkat(t, new SyscallArgs(unchecked((ulong)OpenFlags.AT_FDCWD), a[0], OpenFlags.AT_REMOVEDIR));

    /// <summary>Implements unlinkat(2).</summary>
    public static long Unlinkat(Task t, in SyscallArgs a)
    {
        int flags = a.Int(2);
        if ((flags & ~OpenFlags.AT_REMOVEDIR) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = Path(t, a.Int(0), a.Pointer(1), out string p);
        r = r < 0 ? r : LastComponentForRemoval(t, p, (flags & OpenFlags.AT_REMOVEDIR) != 0);
        if (r < 0)
        {
            return r;
        }

        InodeKey key = default;
        Stat st = default;
        bool watched = Fsnotify.Active && Fsnotify.Lookup(t, p, follow: false, out key, out st);
        r = PathOps.Remove(t, p, (flags & OpenFlags.AT_REMOVEDIR) != 0);
        if (r == 0)
        {
            LiveNames.Removed(t, p);
        }

        if (r == 0 && watched)
        {
            // Linux's order: the link count (files), the inode's end, the name's, then the watches go.
            bool isDir = (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR;
            if (Unlinked(key, st))
            {
                Fsnotify.Ignore(key);
            }

            Fsnotify.Entry(t, p, InotifyMask.IN_DELETE, 0, isDir);
        }

        return r;
    }

    /// <summary>
    /// What Linux's unlinkat decides from the last component as written, before the name is looked up:
    /// "." and ".." are never removed (rmdir: EINVAL and ENOTEMPTY; unlink: EISDIR), "/" is busy, and a
    /// trailing slash makes unlink of anything ENOTDIR or EISDIR. Returns 0 when the removal may go on.
    /// </summary>
    private static long LastComponentForRemoval(Task t, string p, bool directory)
    {
        string trimmed = p.TrimEnd('/');
        bool slash = trimmed.Length != p.Length;
        if (trimmed.Length == 0)
        {
            return directory ? -Errno.EBUSY.Value : -Errno.EISDIR.Value;
        }

        int cut = trimmed.LastIndexOf('/');
        ReadOnlySpan<char> last = trimmed.AsSpan(cut + 1); // a span: every unlink passes here
        if (last is "." or "..")
        {
            // The directory the dots name is walked first: its errors come before theirs.
            long r = PathOps.Stat(t, cut <= 0 ? "/" : trimmed[..cut], follow: true, out Stat dir);
            if (r < 0)
            {
                return r;
            }

            if ((dir.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
            {
                return -Errno.ENOTDIR.Value;
            }

            return !directory ? -Errno.EISDIR.Value : last is "." ? -Errno.EINVAL.Value : -Errno.ENOTEMPTY.Value;
        }

        if (slash && !directory)
        {
            long r = PathOps.Stat(t, trimmed, follow: false, out Stat st);
            return r < 0 ? r : (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR ? -Errno.EISDIR.Value : -Errno.ENOTDIR.Value;
        }

        return 0;
    }

    /// <summary>Implements rename(2).</summary>
    public static long Rename(Task t, in SyscallArgs a) =>
        Renameat2(t, new SyscallArgs(unchecked((ulong)OpenFlags.AT_FDCWD), a[0], unchecked((ulong)OpenFlags.AT_FDCWD), a[1], 0));

    /// <summary>Implements renameat(2).</summary>
    public static long Renameat(Task t, in SyscallArgs a) => Renameat2(t, new SyscallArgs(a[0], a[1], a[2], a[3], 0));

    /// <summary>Implements renameat2(2) (RENAME_NOREPLACE, RENAME_EXCHANGE; RENAME_WHITEOUT answers EINVAL).</summary>
    public static long Renameat2(Task t, in SyscallArgs a)
    {
        uint flags = a.UInt(4);
        if ((flags & ~(RENAME_NOREPLACE | PathOps.RenameExchange)) != 0 || flags == (RENAME_NOREPLACE | PathOps.RenameExchange))
        {
            return -Errno.EINVAL.Value;
        }

        bool exchange = (flags & PathOps.RenameExchange) != 0;

        long r = Path(t, a.Int(0), a.Pointer(1), out string from);
        if (r < 0)
        {
            return r;
        }

        r = Path(t, a.Int(2), a.Pointer(3), out string to);
        if (r < 0)
        {
            return r;
        }

        InodeKey key = default, oldKey = default;
        Stat st = default, oldSt = default;
        bool watched = Fsnotify.Active && Fsnotify.Lookup(t, from, follow: false, out key, out st);
        bool replaced = watched && Fsnotify.Lookup(t, to, follow: false, out oldKey, out oldSt) && oldKey != key;
        r = PathOps.Rename(t, from, to, (flags & RENAME_NOREPLACE) != 0, exchange);
        if (r == 0 && exchange)
        {
            LiveNames.Exchanged(t, from, to);
        }
        else if (r == 0 && PathResolver.Normalize(from) != PathResolver.Normalize(to))
        {
            LiveNames.Renamed(t, from, to);
        }

        if (r == 0 && watched && exchange)
        {
            // Both names moved: a pair of events each way, as Linux reports an exchange.
            bool fromDir = (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR;
            bool toDir = (oldSt.st_mode & Stat.S_IFMT) == Stat.S_IFDIR;
            uint cookie = Fsnotify.NextCookie();
            Fsnotify.Entry(t, from, InotifyMask.IN_MOVED_FROM, cookie, fromDir);
            Fsnotify.Entry(t, to, InotifyMask.IN_MOVED_TO, cookie, fromDir);
            cookie = Fsnotify.NextCookie();
            Fsnotify.Entry(t, to, InotifyMask.IN_MOVED_FROM, cookie, toDir);
            Fsnotify.Entry(t, from, InotifyMask.IN_MOVED_TO, cookie, toDir);
            Fsnotify.Deliver(key, InotifyMask.IN_MOVE_SELF, 0, null, false);
            Fsnotify.Deliver(oldKey, InotifyMask.IN_MOVE_SELF, 0, null, false);
        }
        else if (r == 0 && watched)
        {
            bool isDir = (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR;
            if (isDir || Dnotify.SameDirectory(from, to))
            {
                // FS_RENAME reaches a directory's F_NOTIFY only within one directory, or for a directory.
                Fsnotify.Entry(t, from, Dnotify.FsRename, 0, isDir);
            }

            uint cookie = Fsnotify.NextCookie();
            Fsnotify.Entry(t, from, InotifyMask.IN_MOVED_FROM, cookie, isDir);
            Fsnotify.Entry(t, to, InotifyMask.IN_MOVED_TO, cookie, isDir);
            bool targetGone = false;
            if (replaced && (oldSt.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
            {
                Fsnotify.OnInode(null, oldKey, false, null, null, InotifyMask.IN_ATTRIB);
            }

            Fsnotify.Deliver(key, InotifyMask.IN_MOVE_SELF, 0, null, false);
            if (replaced && ((oldSt.st_mode & Stat.S_IFMT) == Stat.S_IFDIR || oldSt.st_nlink <= 1))
            {
                Fsnotify.Deliver(oldKey, InotifyMask.IN_DELETE_SELF, 0, null, false);
                targetGone = true;
            }

            if (targetGone)
            {
                Fsnotify.Ignore(oldKey);
            }
        }

        return r;
    }

    /// <summary>Implements symlink(2).</summary>
    public static long Symlink(Task t, in SyscallArgs a) => Symlinkat(t, new SyscallArgs(a[0], unchecked((ulong)OpenFlags.AT_FDCWD), a[1]));

    /// <summary>Implements symlinkat(2).</summary>
    public static long Symlinkat(Task t, in SyscallArgs a)
    {
        long r = t.MM.CopyInString(a.Pointer(0), PathResolver.PathMax - 1, out string target);
        if (r < 0)
        {
            return r;
        }

        r = Path(t, a.Int(1), a.Pointer(2), out string p);
        r = r < 0 ? r : PathOps.Symlink(t, target, p);
        if (r == 0 && Fsnotify.Active)
        {
            Fsnotify.Entry(t, p, InotifyMask.IN_CREATE, 0, isDir: false);
        }

        return r;
    }

    /// <summary>Implements link(2).</summary>
    public static long Link(Task t, in SyscallArgs a) =>
        Linkat(t, new SyscallArgs(unchecked((ulong)OpenFlags.AT_FDCWD), a[0], unchecked((ulong)OpenFlags.AT_FDCWD), a[1], 0));

    /// <summary>Implements linkat(2).</summary>
    public static long Linkat(Task t, in SyscallArgs a)
    {
        if ((a.Int(4) & ~(OpenFlags.AT_SYMLINK_FOLLOW | OpenFlags.AT_EMPTY_PATH)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r;
        string to;
        if ((a.Int(4) & OpenFlags.AT_EMPTY_PATH) != 0 && t.MM.CopyInString(a.Pointer(1), 1, out string given) == 0 && given.Length == 0)
        {
            // The file of the descriptor itself: linking by descriptor needs CAP_DAC_READ_SEARCH (else ENOENT).
            r = Path(t, a.Int(2), a.Pointer(3), out to);
            if (r < 0)
            {
                return r;
            }

            return LinkDescriptor(t, a.Int(0), to);
        }

        r = Path(t, a.Int(0), a.Pointer(1), (a.Int(4) & OpenFlags.AT_SYMLINK_FOLLOW) != 0, out string from);
        if (r < 0)
        {
            return r;
        }

        if ((a.Int(4) & OpenFlags.AT_SYMLINK_FOLLOW) != 0)
        {
            // Link what a final symlink names, not the link itself (after the walk's own errors).
            r = PathOps.Stat(t, from, follow: true, out _);
            if (r < 0)
            {
                return r;
            }

            if (PathOps.IsProc(t, PathResolver.Normalize(from), out string procPath, out Vfs.Mounts.Mount procMount) &&
                Vfs.Proc.ProcFs.Lookup(t, procPath, followLast: true, out Vfs.Proc.ProcNode? node, procMount.PidNs) == 0 && node!.Fd != null)
            {
                // A /proc/PID/fd link leads to the open file itself (how an O_TMPFILE file gets a name without privilege).
                FileDescription magic = node.Fd;
                try
                {
                    r = Path(t, a.Int(2), a.Pointer(3), out to);
                    return r < 0 ? r : Linked(t, TmpfileOps.Link(t, magic, to), to);
                }
                finally
                {
                    magic.DecRef();
                }
            }

            from = PathOps.ResolveLinks(t, from);
        }

        r = Path(t, a.Int(2), a.Pointer(3), out to);
        r = r < 0 ? r : PathOps.Link(t, from, to);
        return Linked(t, r, to);
    }

    // linkat(fd, "", ..., AT_EMPTY_PATH): the descriptor's file gets the new name. Without CAP_DAC_READ_SEARCH
    // only the credentials that opened it may (Linux 6.10 on), else ENOENT.
    private static long LinkDescriptor(Task t, int fd, string to)
    {
        FileDescription? f = t.Fds.Get(fd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            bool may = t.Credentials.HasCapability(Credentials.CAP_DAC_READ_SEARCH) || Equals(f.OpenedBy, t.Credentials);
            return Linked(t, may ? TmpfileOps.Link(t, f, to) : -Errno.ENOENT.Value, to);
        }
        finally
        {
            f.DecRef();
        }
    }

    // After a link: the inode's watches hear IN_ATTRIB (its link count changed), its directory's IN_CREATE.
    private static long Linked(Task t, long r, string to)
    {
        if (r == 0 && Fsnotify.Active)
        {
            // The link count changed: the inode's own watches hear of it, not its directory's.
            if (Fsnotify.Lookup(t, to, follow: false, out InodeKey linked, out _))
            {
                Fsnotify.Deliver(linked, InotifyMask.IN_ATTRIB, 0, null, false);
            }

            Fsnotify.Entry(t, to, InotifyMask.IN_CREATE, 0, isDir: false);
        }

        return r;
    }

    /// <summary>Implements truncate(2).</summary>
    public static long Truncate(Task t, in SyscallArgs a)
    {
        long r = FollowedPath(t, OpenFlags.AT_FDCWD, a.Pointer(0), out string p);
        r = r < 0 ? r : PathOps.Truncate(t, p, a.Long(1));
        return PathChanged(t, p, true, r, InotifyMask.IN_MODIFY);
    }

    /// <summary>Implements ftruncate(2).</summary>
    public static long Ftruncate(Task t, in SyscallArgs a)
    {
        if (a.Long(1) < 0)
        {
            return -Errno.EINVAL.Value;
        }

        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return FileChanged(t, f, InotifyMask.IN_MODIFY, FileSpace.Truncate(t, f, a.Long(1)));
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements fallocate(2).</summary>
    public static long Fallocate(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return FileChanged(t, f, InotifyMask.IN_MODIFY, FileSpace.Fallocate(t, f, a.Int(1), a.Long(2), a.Long(3)));
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements chmod(2).</summary>
    public static long Chmod(Task t, in SyscallArgs a)
    {
        long r = FollowedPath(t, OpenFlags.AT_FDCWD, a.Pointer(0), out string p);
        return PathChanged(t, p, true, r < 0 ? r : PathOps.Chmod(t, p, a.Int(1), follow: true), InotifyMask.IN_ATTRIB);
    }

    /// <summary>Implements fchmodat(2).</summary>
    public static long Fchmodat(Task t, in SyscallArgs a)
    {
        long r = FollowedPath(t, a.Int(0), a.Pointer(1), out string p);
        return PathChanged(t, p, true, r < 0 ? r : PathOps.Chmod(t, p, a.Int(2), follow: true), InotifyMask.IN_ATTRIB);
    }

    /// <summary>
    /// Implements fchmodat2(2): fchmodat with flags. AT_EMPTY_PATH with "" changes dirfd's own file;
    /// AT_SYMLINK_NOFOLLOW changes the named file itself, and a symlink's mode cannot be changed (EOPNOTSUPP).
    /// </summary>
    public static long Fchmodat2(Task t, in SyscallArgs a)
    {
        int flags = a.Int(3);
        if ((flags & ~(OpenFlags.AT_SYMLINK_NOFOLLOW | OpenFlags.AT_EMPTY_PATH)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & OpenFlags.AT_EMPTY_PATH) != 0 && t.MM.CopyInString(a.Pointer(1), 1, out string given) == 0 && given.Length == 0)
        {
            if (a.Int(0) == OpenFlags.AT_FDCWD)
            {
                return PathChanged(t, t.Group.Cwd, true, PathOps.Chmod(t, t.Group.Cwd, a.Int(2), follow: true), InotifyMask.IN_ATTRIB);
            }

            FileDescription? f = t.Fds.Get(a.Int(0));
            if (f == null)
            {
                return -Errno.EBADF.Value;
            }

            try
            {
                return FileChanged(t, f, InotifyMask.IN_ATTRIB, PathOps.ChmodFile(t, f, a.Int(2)));
            }
            finally
            {
                f.DecRef();
            }
        }

        bool follow = (flags & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0;
        long r = Path(t, a.Int(0), a.Pointer(1), follow, out string p);
        if (r == 0 && !follow && PathOps.Stat(t, p, follow: false, out Stat st) == 0 && (st.st_mode & Stat.S_IFMT) == Stat.S_IFLNK)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        return PathChanged(t, p, follow, r < 0 ? r : PathOps.Chmod(t, p, a.Int(2), follow), InotifyMask.IN_ATTRIB);
    }

    /// <summary>Implements fchmod(2).</summary>
    public static long Fchmod(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return FileChanged(t, f, InotifyMask.IN_ATTRIB, PathOps.ChmodFile(t, f, a.Int(1)));
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements fchown(2): root may give tmpfs files any owner; the host root is read-only.</summary>
    public static long Fchown(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return FileChanged(t, f, InotifyMask.IN_ATTRIB, Chown(t, f, a.UInt(1), a.UInt(2)));
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements chown(2), lchown(2) and fchownat(2).</summary>
    public static long ChownPath(Task t, int dirfd, ulong pathAddr, uint uid, uint gid, bool follow)
    {
        long r = Path(t, dirfd, pathAddr, follow, out string p);
        return r < 0 ? r : PathChanged(t, p, follow, ChownResolved(t, p, uid, gid, follow), InotifyMask.IN_ATTRIB);
    }

    private static long ChownResolved(Task t, string p, uint uid, uint gid, bool follow)
    {
        // The gofer acts as root: chown's rules are the Sentry's to check, on every file system.
        if (PathAccess.TargetForAttrChange(t, p, follow, out Stat st, out long r))
        {
            Errno e = Permissions.Chown(t.Credentials, st, uid, gid, out _);
            if (e != Errno.None)
            {
                return -e.Value;
            }
        }
        else if (r < 0)
        {
            return r;
        }

        if (PathOps.SetAttrOnVolume(t, ref p, follow, GoferOp.Chown, uid, gid, 0, 0, out long vr))
        {
            return vr;
        }

        r = PathOps.OpenForChange(t, p, follow, out FileDescription? f);
        if (r < 0)
        {
            return r;
        }

        try
        {
            return Chown(t, f!, uid, gid);
        }
        finally
        {
            f!.DecRef();
        }
    }

    public static long ChownSyscall(Task t, in SyscallArgs a) => ChownPath(t, OpenFlags.AT_FDCWD, a.Pointer(0), a.UInt(1), a.UInt(2), true);

    public static long Lchown(Task t, in SyscallArgs a) => ChownPath(t, OpenFlags.AT_FDCWD, a.Pointer(0), a.UInt(1), a.UInt(2), false);

    public static long Fchownat(Task t, in SyscallArgs a) =>
        ChownPath(t, a.Int(0), a.Pointer(1), a.UInt(2), a.UInt(3), (a.Int(4) & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0);

    private static long Chown(Task t, FileDescription f, uint uid, uint gid)
    {
        if (f is HostFileDescription { Volume.ReadOnly: true })
        {
            return -Errno.EROFS.Value;
        }

        uint newMode = 0;
        if (f.Stat(out Stat st) == 0)
        {
            Errno e = Permissions.Chown(t.Credentials, st, uid, gid, out newMode);
            if (e != Errno.None)
            {
                return -e.Value;
            }
        }

        if (f is HostFileDescription { Volume: not null } h)
        {
            return HostPathChange.Fchown(h.HostFd, uid, gid); // the host drops the set-id bits itself
        }

        if (f is not TmpfsFile tf)
        {
            return -Errno.EROFS.Value;
        }

        lock (tf.Node.Fs.Mu)
        {
            tf.Node.Mode = (tf.Node.Mode & Stat.S_IFMT) | (newMode & 0xFFF);
            if (uid != uint.MaxValue)
            {
                tf.Node.Uid = uid;
            }

            if (gid != uint.MaxValue)
            {
                tf.Node.Gid = gid;
            }

            tf.Node.Touch(modified: false);
            return 0;
        }
    }

    /// <summary>Implements utimensat(2) on tmpfs and volume files (UTIME_NOW and UTIME_OMIT included).</summary>
    public static long Utimensat(Task t, in SyscallArgs a)
    {
        long r = UtimensatUnwatched(t, a);
        if (r == 0 && Fsnotify.Active)
        {
            if (a.Pointer(1) == 0)
            {
                FileDescription? f = t.Fds.Get(a.Int(0));
                if (f != null)
                {
                    Fsnotify.OnFile(t, f, InotifyMask.IN_ATTRIB);
                    f.DecRef();
                }
            }
            else if (Path(t, a.Int(0), a.Pointer(1), (a.Int(3) & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0, out string p) == 0)
            {
                Fsnotify.OnPath(t, p, (a.Int(3) & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0, InotifyMask.IN_ATTRIB);
            }
        }

        return r;
    }

    private static long UtimensatUnwatched(Task t, in SyscallArgs a)
    {
        const long UTIME_NOW = (1L << 30) - 1;
        const long UTIME_OMIT = (1L << 30) - 2;
        System.Span<Timespec> times = stackalloc Timespec[2];
        if (a.Pointer(2) == 0)
        {
            times[0] = times[1] = new Timespec { tv_nsec = UTIME_NOW };
        }
        else if (t.MM.CopyIn(a.Pointer(2), System.Runtime.InteropServices.MemoryMarshal.AsBytes(times)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        foreach (Timespec ts in times)
        {
            if (ts.tv_nsec != UTIME_NOW && ts.tv_nsec != UTIME_OMIT && (ts.tv_nsec < 0 || ts.tv_nsec >= 1_000_000_000))
            {
                return -Errno.EINVAL.Value;
            }
        }

        if (times[0].tv_nsec == UTIME_OMIT && times[1].tv_nsec == UTIME_OMIT)
        {
            return 0; // nothing to do: Linux does not even look the path up
        }

        // Times other than "now" for both are the owner's to set; "now" is also anyone's who may write.
        bool explicitTimes = !(times[0].tv_nsec == UTIME_NOW && times[1].tv_nsec == UTIME_NOW);

        FileDescription? f;
        long r;
        if (a.Pointer(1) == 0)
        {
            f = t.Fds.Get(a.Int(0));
            if (f == null)
            {
                return -Errno.EBADF.Value;
            }
        }
        else
        {
            bool follow = (a.Int(3) & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0;
            r = Path(t, a.Int(0), a.Pointer(1), follow, out string p);
            if (r < 0)
            {
                return r;
            }

            if (PathAccess.TargetForAttrChange(t, p, follow, out Stat target, out r))
            {
                Errno e = Permissions.Utimes(t.Credentials, target, explicitTimes);
                if (e != Errno.None)
                {
                    return -e.Value;
                }
            }
            else if (r < 0)
            {
                return r;
            }

            if (PathOps.SetAttrOnVolume(t, ref p, follow, GoferOp.Utimes, times[0].tv_sec, times[0].tv_nsec, times[1].tv_sec, times[1].tv_nsec, out long vr))
            {
                return vr;
            }

            r = PathOps.OpenForChange(t, p, follow, out f);
            if (r < 0)
            {
                return r;
            }
        }

        try
        {
            if (f is HostFileDescription { Volume.ReadOnly: true })
            {
                return -Errno.EROFS.Value;
            }

            if (a.Pointer(1) == 0 && f!.Stat(out Stat fst) == 0)
            {
                Errno e = Permissions.Utimes(t.Credentials, fst, explicitTimes);
                if (e != Errno.None)
                {
                    return -e.Value;
                }
            }

            if (f is HostFileDescription { Volume: not null } h)
            {
                return HostPathChange.Futimens(h.HostFd, times[0], times[1]);
            }

            if (f is not TmpfsFile tf)
            {
                return f is DeviceFile or PipeEnd ? 0 : -Errno.EROFS.Value;
            }

            lock (tf.Node.Fs.Mu)
            {
                Timespec now = TmpfsNode.Now();
                if (times[0].tv_nsec != UTIME_OMIT)
                {
                    tf.Node.Atime = times[0].tv_nsec == UTIME_NOW ? now : times[0];
                }

                if (times[1].tv_nsec != UTIME_OMIT)
                {
                    tf.Node.Mtime = times[1].tv_nsec == UTIME_NOW ? now : times[1];
                }

                tf.Node.Ctime = now;
                return 0;
            }
        }
        finally
        {
            f!.DecRef();
        }
    }
}
