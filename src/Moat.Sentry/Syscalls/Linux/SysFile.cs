using System;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>File descriptors, opening files, stat, links and ioctls.</summary>
internal static class SysFile
{
    private const int F_DUPFD = 0;
    private const int F_GETFD = 1;
    private const int F_SETFD = 2;
    private const int F_GETFL = 3;
    private const int F_SETFL = 4;
    private const int F_DUPFD_CLOEXEC = 1030;
    private const int F_SETPIPE_SZ = 1031;
    private const int F_GETPIPE_SZ = 1032;
    private const int FD_CLOEXEC = 1;

    /// <summary>Implements close(2).</summary>
    public static long Close(Task t, in SyscallArgs a) => t.Fds.Remove(a.Int(0));

    /// <summary>Implements fstat(2).</summary>
    public static long Fstat(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            long r = f.Stat(out Stat st);
            return r < 0 ? r : t.MM.CopyOut(a.Pointer(1), st);
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements newfstatat(2).</summary>
    public static long Newfstatat(Task t, in SyscallArgs a) => StatAt(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Int(3));

    /// <summary>Implements stat(2).</summary>
    public static long StatPath(Task t, in SyscallArgs a) => StatAt(t, OpenFlags.AT_FDCWD, a.Pointer(0), a.Pointer(1), 0);

    /// <summary>Implements lstat(2).</summary>
    public static long Lstat(Task t, in SyscallArgs a) => StatAt(t, OpenFlags.AT_FDCWD, a.Pointer(0), a.Pointer(1), OpenFlags.AT_SYMLINK_NOFOLLOW);

    private static long StatAt(Task t, int dirfd, ulong pathAddr, ulong statAddr, int flags)
    {
        if ((flags & ~(OpenFlags.AT_SYMLINK_NOFOLLOW | OpenFlags.AT_EMPTY_PATH | OpenFlags.AT_NO_AUTOMOUNT)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = PathResolver.CopyInPath(t, pathAddr, out string path);
        if (r < 0)
        {
            return r;
        }

        if (path.Length == 0 && (flags & OpenFlags.AT_EMPTY_PATH) != 0)
        {
            return Fstat(t, new SyscallArgs((ulong)dirfd, statAddr));
        }

        r = PathResolver.Resolve(t, dirfd, path, followLast: (flags & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0, out string absolute);
        if (r < 0)
        {
            return r;
        }

        r = StatPathAsWritten(t, absolute, (flags & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0, out Stat st);
        return r < 0 ? r : t.MM.CopyOut(statAddr, st);
    }

    /// <summary>
    /// Stats a path as written: a trailing slash (or "/.") follows a final symlink and asks for a directory
    /// (ENOTDIR otherwise), as Linux's walk does, even under AT_SYMLINK_NOFOLLOW.
    /// </summary>
    private static long StatPathAsWritten(Task t, string absolute, bool follow, out Stat st)
    {
        bool mustBeDir = PathResolver.NamesDirectory(absolute);
        long r = PathOps.Stat(t, absolute, follow || mustBeDir, out st);
        return r == 0 && mustBeDir && (st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR ? -Errno.ENOTDIR.Value : r;
    }

    /// <summary>Implements statx(2), from the same attributes as stat(2) (STATX_BASIC_STATS).</summary>
    public static long Statx(Task t, in SyscallArgs a)
    {
        const int AT_STATX_SYNC_TYPE = 0x6000;
        int flags = a.Int(2);
        if ((flags & ~(OpenFlags.AT_SYMLINK_NOFOLLOW | OpenFlags.AT_EMPTY_PATH | OpenFlags.AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) != 0 ||
            (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE || (a.UInt(3) & 0x80000000) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = PathResolver.CopyInPath(t, a.Pointer(1), out string path);
        if (r < 0)
        {
            return r;
        }

        Stat st;
        if (path.Length == 0 && (flags & OpenFlags.AT_EMPTY_PATH) != 0)
        {
            FileDescription? f = t.Fds.Get(a.Int(0));
            if (f == null)
            {
                return -Errno.EBADF.Value;
            }

            r = f.Stat(out st);
            f.DecRef();
        }
        else
        {
            r = PathResolver.Resolve(t, a.Int(0), path, followLast: (flags & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0, out string absolute);
            if (r < 0)
            {
                return r;
            }

            r = StatPathAsWritten(t, absolute, (flags & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0, out st);
        }

        if (r < 0)
        {
            return r;
        }

        Span<byte> x = stackalloc byte[256];
        x.Clear();
        BitConverter.TryWriteBytes(x, 0x7FFu); // STATX_BASIC_STATS
        BitConverter.TryWriteBytes(x[4..], (uint)st.st_blksize);
        BitConverter.TryWriteBytes(x[16..], (uint)st.st_nlink);
        BitConverter.TryWriteBytes(x[20..], st.st_uid);
        BitConverter.TryWriteBytes(x[24..], st.st_gid);
        BitConverter.TryWriteBytes(x[28..], (ushort)st.st_mode);
        BitConverter.TryWriteBytes(x[32..], st.st_ino);
        BitConverter.TryWriteBytes(x[40..], st.st_size);
        BitConverter.TryWriteBytes(x[48..], st.st_blocks);
        WriteTime(x[64..], st.st_atime, st.st_atime_nsec);
        WriteTime(x[96..], st.st_ctime, st.st_ctime_nsec);
        WriteTime(x[112..], st.st_mtime, st.st_mtime_nsec);
        BitConverter.TryWriteBytes(x[128..], DeviceNumbers.Major(st.st_rdev));
        BitConverter.TryWriteBytes(x[132..], DeviceNumbers.Minor(st.st_rdev));
        BitConverter.TryWriteBytes(x[136..], DeviceNumbers.Major(st.st_dev));
        BitConverter.TryWriteBytes(x[140..], DeviceNumbers.Minor(st.st_dev));
        return t.MM.CopyOut(a.Pointer(4), x);
    }

    private static void WriteTime(Span<byte> dst, long sec, long nsec)
    {
        BitConverter.TryWriteBytes(dst, sec);
        BitConverter.TryWriteBytes(dst[8..], (uint)nsec);
    }

    /// <summary>Implements open(2).</summary>
    public static long Open(Task t, in SyscallArgs a) => OpenAt(t, OpenFlags.AT_FDCWD, a.Pointer(0), a.Int(1), a.Int(2));

    /// <summary>Implements creat(2).</summary>
    public static long Creat(Task t, in SyscallArgs a) => OpenAt(t, OpenFlags.AT_FDCWD, a.Pointer(0), OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, a.Int(1));

    /// <summary>Implements openat(2).</summary>
    public static long Openat(Task t, in SyscallArgs a) => OpenAt(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int(3));

    private static long OpenAt(Task t, int dirfd, ulong pathAddr, int flags, int mode = 0)
    {
        long r = PathResolver.CopyInPath(t, pathAddr, out string path);
        if (r < 0)
        {
            return r;
        }

        r = PathResolver.Resolve(t, dirfd, path, followLast: (flags & OpenFlags.O_NOFOLLOW) == 0 && (flags & (OpenFlags.O_CREAT | OpenFlags.O_EXCL)) != (OpenFlags.O_CREAT | OpenFlags.O_EXCL), out string absolute);
        if (r < 0)
        {
            return r;
        }

        if (PathResolver.NamesDirectory(absolute))
        {
            // "name/" must be a directory: creating one through open is EISDIR, a file is ENOTDIR.
            if ((flags & OpenFlags.O_CREAT) != 0)
            {
                return -Errno.EISDIR.Value;
            }

            flags = (flags | OpenFlags.O_DIRECTORY) & ~OpenFlags.O_NOFOLLOW;
        }

        bool watched = Vfs.Inotify.Fsnotify.Active && (flags & OpenFlags.O_PATH) == 0;
        bool existed = !watched || (flags & OpenFlags.O_CREAT) == 0 || PathOps.Stat(t, absolute, (flags & (OpenFlags.O_NOFOLLOW | OpenFlags.O_EXCL)) == 0, out _) == 0;
        r = PathOps.Open(t, absolute, flags, mode, out FileDescription? file);
        if (r < 0)
        {
            return r;
        }

        if (watched)
        {
            Vfs.Inotify.Fsnotify.Opened(t, file!, absolute, created: !existed, truncated: existed && (flags & OpenFlags.O_TRUNC) != 0 && (flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY);
        }

        int limit = (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue);
        int nfd = t.Fds.Add(file!, (flags & OpenFlags.O_CLOEXEC) != 0, 0, limit);
        file!.DecRef();
        return nfd;
    }

    /// <summary>Implements readlink(2).</summary>
    public static long Readlink(Task t, in SyscallArgs a) => ReadlinkAt(t, OpenFlags.AT_FDCWD, a.Pointer(0), a.Pointer(1), a.Long(2));

    /// <summary>Implements readlinkat(2).</summary>
    public static long Readlinkat(Task t, in SyscallArgs a) => ReadlinkAt(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Long(3));

    private static long ReadlinkAt(Task t, int dirfd, ulong pathAddr, ulong buf, long size)
    {
        if ((int)size <= 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = PathResolver.CopyInPath(t, pathAddr, out string path);
        if (r < 0)
        {
            return r;
        }

        r = PathResolver.Resolve(t, dirfd, path, out string absolute);
        if (r < 0)
        {
            return r;
        }

        r = PathOps.ReadLink(t, absolute, out string target);
        if (r < 0)
        {
            return r;
        }

        // readlink(2) truncates silently and writes no NUL.
        byte[] bytes = LinuxString.Encoding.GetBytes(target);
        int n = (int)Math.Min(bytes.Length, (int)size);
        r = t.MM.CopyOut(buf, bytes.AsSpan(0, n));
        return r < 0 ? r : n;
    }

    /// <summary>Implements access(2).</summary>
    public static long Access(Task t, in SyscallArgs a) => AccessAt(t, OpenFlags.AT_FDCWD, a.Pointer(0), a.Int(1), 0);

    /// <summary>Implements faccessat(2).</summary>
    public static long Faccessat(Task t, in SyscallArgs a) => AccessAt(t, a.Int(0), a.Pointer(1), a.Int(2), 0);

    /// <summary>Implements faccessat2(2).</summary>
    public static long Faccessat2(Task t, in SyscallArgs a) => AccessAt(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int(3));

    private static long AccessAt(Task t, int dirfd, ulong pathAddr, int mode, int flags)
    {
        if ((mode & ~7) != 0 || (flags & ~(OpenFlags.AT_EACCESS | OpenFlags.AT_SYMLINK_NOFOLLOW | OpenFlags.AT_EMPTY_PATH)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = PathResolver.CopyInPath(t, pathAddr, out string path);
        if (r < 0)
        {
            return r;
        }

        r = PathResolver.Resolve(t, dirfd, path, followLast: (flags & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0, out string absolute);
        if (r < 0)
        {
            return r;
        }

        // The whole walk is made as the asking user (Linux's access_override_creds), not only the last check.
        Credentials asking = AccessCredentials(t.Credentials, flags);
        bool follow = (flags & OpenFlags.AT_SYMLINK_NOFOLLOW) == 0;
        r = PathAccess.MayWalk(t, asking, absolute, follow);
        if (r < 0)
        {
            return r;
        }

        r = PathOps.StatUnchecked(t, absolute, follow, out Stat st);
        if (r < 0)
        {
            return r;
        }

        if ((mode & OpenFlags.W_OK) != 0 && PathOps.IsProc(t, PathResolver.Normalize(absolute), out _) && (st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
        {
            return -Errno.EACCES.Value;
        }

        // As faccessat: a file that could be written is still not, on a read-only mount (devices and FIFOs can).
        uint type = st.st_mode & Stat.S_IFMT;
        if ((mode & OpenFlags.W_OK) != 0 && type is Stat.S_IFREG or Stat.S_IFDIR or Stat.S_IFLNK && PathAccess.ReadOnlyAt(t, PathResolver.Normalize(absolute)))
        {
            return -Errno.EROFS.Value;
        }

        if (mode != 0 && Permissions.Check(asking, st, mode) != Errno.None)
        {
            return -Errno.EACCES.Value;
        }

        return 0;
    }

    // access(2) asks as the real user: real ids, and root's capabilities only for a real uid of 0.
    private static Credentials AccessCredentials(Credentials c, int flags)
    {
        if ((flags & OpenFlags.AT_EACCESS) != 0 || (c.RealUid == c.EffectiveUid && c.RealGid == c.EffectiveGid && (c.RealUid != 0 || c.CapEffective == c.CapPermitted)))
        {
            return c;
        }

        return c with { EffectiveUid = c.RealUid, EffectiveGid = c.RealGid, CapEffective = c.RealUid == 0 ? c.CapPermitted : 0 };
    }

    /// <summary>Implements getcwd(2).</summary>
    public static long Getcwd(Task t, in SyscallArgs a)
    {
        // A working directory the process cannot reach from its root (chroot without chdir) is marked as Linux does;
        // one that was removed (or whose mount was detached) is ENOENT.
        string dir = t.Group.Cwd;
        if (PathOps.StatUnchecked(t, dir, follow: false, out _) == -Errno.ENOENT.Value)
        {
            return -Errno.ENOENT.Value;
        }

        string shown = RootedPath.IsBelow(dir, t.Group.Root) ? RootedPath.Show(t, dir) : "(unreachable)" + dir;
        byte[] cwd = LinuxString.Encoding.GetBytes(shown + "\0");
        if ((ulong)cwd.Length > a.SizeT(1))
        {
            return -Errno.ERANGE.Value;
        }

        long r = t.MM.CopyOut(a.Pointer(0), cwd);
        return r < 0 ? r : cwd.Length;
    }

    /// <summary>Implements ioctl(2).</summary>
    public static long Ioctl(Task t, in SyscallArgs a)
    {
        const uint FIONCLEX = 0x5450;
        const uint FIOCLEX = 0x5451;
        const uint FIONBIO = 0x5421;
        const uint FIONREAD = 0x541B;
        int fd = a.Int(0);
        FileDescription? f = t.Fds.Get(fd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            // The requests Linux answers for every file, before the file's own ioctl (do_vfs_ioctl).
            switch (a.UInt(1))
            {
                case FIOCLEX:
                case FIONCLEX:
                    t.Fds.CloseOnExec(fd, a.UInt(1) == FIOCLEX);
                    return 0;
                case SysFcntlOwner.FIOASYNC:
                    return SysFcntlOwner.Fioasync(t, f, fd, a.Pointer(2));
                case FIONBIO:
                {
                    if (t.MM.CopyIn(a.Pointer(2), out int on) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    return f.SetStatusFlags(on != 0 ? f.StatusFlags | OpenFlags.O_NONBLOCK : f.StatusFlags & ~OpenFlags.O_NONBLOCK);
                }

                case FIONREAD when f.Stat(out Stat st) == 0 && (st.st_mode & Stat.S_IFMT) == Stat.S_IFREG:
                {
                    // A regular file: the bytes between the offset and the end (negative past the end, as Linux).
                    long pos = f.Seek(0, 1 /* SEEK_CUR */);
                    if (pos >= 0)
                    {
                        return t.MM.CopyOut(a.Pointer(2), unchecked((int)(st.st_size - pos))) < 0 ? -Errno.EFAULT.Value : 0;
                    }

                    break;
                }
            }

            return f.Ioctl(t, a.UInt(1), a.Pointer(2));
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements fcntl(2).</summary>
    public static long Fcntl(Task t, in SyscallArgs a)
    {
        int fd = a.Int(0);
        int cmd = a.Int(1);
        switch (cmd)
        {
            case F_DUPFD:
            case F_DUPFD_CLOEXEC:
                return DupFrom(t, fd, a.Int(2), cmd == F_DUPFD_CLOEXEC);
            case F_GETFD:
                return t.Fds.CloseOnExec(fd, null) switch
                {
                    < 0 and var e => e,
                    var v => v == 1 ? FD_CLOEXEC : 0,
                };
            case F_SETFD:
            {
                long r = t.Fds.CloseOnExec(fd, (a.Int(2) & FD_CLOEXEC) != 0);
                return r < 0 ? r : 0;
            }

            case F_GETFL:
            {
                FileDescription? f = t.Fds.Get(fd);
                if (f == null)
                {
                    return -Errno.EBADF.Value;
                }

                int flags = f.StatusFlags;
                f.DecRef();
                return flags;
            }

            case F_SETFL:
            {
                FileDescription? f = t.Fds.Get(fd);
                if (f == null)
                {
                    return -Errno.EBADF.Value;
                }

                // setfl: a change of O_ASYNC goes through the file's fasync first (files without one ignore it).
                int arg = a.Int(2);
                if (((arg ^ f.StatusFlags) & OpenFlags.O_ASYNC) != 0)
                {
                    f.SetAsync(fd, (arg & OpenFlags.O_ASYNC) != 0);
                }

                long r = f.SetStatusFlags(arg);
                f.DecRef();
                return r;
            }

            case SysFcntlOwner.F_SETOWN:
            case SysFcntlOwner.F_GETOWN:
            case SysFcntlOwner.F_SETOWN_EX:
            case SysFcntlOwner.F_GETOWN_EX:
            case SysFcntlOwner.F_SETSIG:
            case SysFcntlOwner.F_GETSIG:
            {
                FileDescription? f = t.Fds.Get(fd);
                if (f == null)
                {
                    return -Errno.EBADF.Value;
                }

                long r = SysFcntlOwner.Fcntl(t, f, cmd, a.Pointer(2));
                f.DecRef();
                return r;
            }

            case F_SETPIPE_SZ:
            case F_GETPIPE_SZ:
            {
                FileDescription? f = t.Fds.Get(fd);
                if (f == null)
                {
                    return -Errno.EBADF.Value;
                }

                long r = f is PipeEnd p ? p.PipeSize(cmd, a.Long(2), t.Credentials.HasCapability(Credentials.CAP_SYS_RESOURCE)) : -Errno.EBADF.Value;
                f.DecRef();
                return r;
            }

            case SysLock.F_GETLK:
            case SysLock.F_SETLK:
            case SysLock.F_SETLKW:
            case SysLock.F_OFD_GETLK:
            case SysLock.F_OFD_SETLK:
            case SysLock.F_OFD_SETLKW:
            {
                FileDescription? f = t.Fds.Get(fd);
                if (f == null)
                {
                    return -Errno.EBADF.Value;
                }

                long r = SysLock.Fcntl(t, f, cmd, a.Pointer(2));
                f.DecRef();
                return r;
            }

            case SysDnotify.F_NOTIFY:
            {
                FileDescription? f = t.Fds.Get(fd);
                if (f == null)
                {
                    return -Errno.EBADF.Value;
                }

                long r = SysDnotify.Fcntl(t, f, fd, a.Pointer(2));
                f.DecRef();
                return r;
            }

            case SysMemfd.F_ADD_SEALS:
            case SysMemfd.F_GET_SEALS:
            {
                FileDescription? f = t.Fds.Get(fd);
                if (f == null)
                {
                    return -Errno.EBADF.Value;
                }

                long r = SysMemfd.Fcntl(t, f, cmd, a.UInt(2));
                f.DecRef();
                return r;
            }

            default:
                return t.Fds.CloseOnExec(fd, null) < 0 ? -Errno.EBADF.Value : -Errno.EINVAL.Value;
        }
    }

    /// <summary>Implements pipe(2).</summary>
    public static long PipeSyscall(Task t, in SyscallArgs a) => MakePipe(t, a.Pointer(0), 0);

    /// <summary>Implements pipe2(2).</summary>
    public static long Pipe2(Task t, in SyscallArgs a) => MakePipe(t, a.Pointer(0), a.Int(1));

    private static long MakePipe(Task t, ulong fdsAddr, int flags)
    {
        if ((flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK | OpenFlags.O_DIRECT)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        var pipe = new Pipe();
        var reader = new PipeEnd(pipe, reader: true, flags);
        var writer = new PipeEnd(pipe, reader: false, flags);
        bool cloexec = (flags & OpenFlags.O_CLOEXEC) != 0;
        int limit = (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue);
        int rfd = t.Fds.Add(reader, cloexec, 0, limit);
        reader.DecRef();
        if (rfd < 0)
        {
            writer.DecRef();
            return rfd;
        }

        int wfd = t.Fds.Add(writer, cloexec, 0, limit);
        writer.DecRef();
        if (wfd < 0)
        {
            t.Fds.Remove(rfd);
            return wfd;
        }

        System.Span<int> fds = [rfd, wfd];
        if (t.MM.CopyOut(fdsAddr, System.Runtime.InteropServices.MemoryMarshal.AsBytes(fds)) < 0)
        {
            t.Fds.Remove(rfd);
            t.Fds.Remove(wfd);
            return -Errno.EFAULT.Value;
        }

        return 0;
    }

    /// <summary>Implements close_range(2).</summary>
    public static long CloseRange(Task t, in SyscallArgs a)
    {
        const uint CLOSE_RANGE_UNSHARE = 2;
        const uint CLOSE_RANGE_CLOEXEC = 4;
        uint first = a.UInt(0);
        uint last = a.UInt(1);
        uint flags = a.UInt(2);
        if ((flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) != 0 || first > last)
        {
            return -Errno.EINVAL.Value;
        }

        // CLOSE_RANGE_UNSHARE: a table shared with other tasks (CLONE_FILES) would be copied first; Moat
        // applies the change to the caller's table, which it shares only with CLONE_FILES threads.
        t.Fds.CloseRange(first, last, (flags & CLOSE_RANGE_CLOEXEC) != 0);
        return 0;
    }

    /// <summary>Implements dup(2).</summary>
    public static long Dup(Task t, in SyscallArgs a) => DupFrom(t, a.Int(0), 0, false);

    /// <summary>Implements dup2(2).</summary>
    public static long Dup2(Task t, in SyscallArgs a)
    {
        int oldfd = a.Int(0);
        int newfd = a.Int(1);
        if (oldfd == newfd)
        {
            return t.Fds.CloseOnExec(oldfd, null) < 0 ? -Errno.EBADF.Value : newfd;
        }

        return DupTo(t, oldfd, newfd, false);
    }

    /// <summary>Implements dup3(2).</summary>
    public static long Dup3(Task t, in SyscallArgs a)
    {
        int flags = a.Int(2);
        if ((flags & ~OpenFlags.O_CLOEXEC) != 0 || a.Int(0) == a.Int(1))
        {
            return -Errno.EINVAL.Value;
        }

        return DupTo(t, a.Int(0), a.Int(1), flags != 0);
    }

    private static long DupFrom(Task t, int oldfd, int minFd, bool cloexec)
    {
        int limit = (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue);
        FileDescription? f = t.Fds.Get(oldfd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        if (minFd < 0 || minFd >= limit)
        {
            f.DecRef();
            return -Errno.EINVAL.Value;
        }

        int nfd = t.Fds.Add(f, cloexec, minFd, limit);
        f.DecRef();
        return nfd;
    }

    private static long DupTo(Task t, int oldfd, int newfd, bool cloexec)
    {
        FileDescription? f = t.Fds.Get(oldfd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        if (newfd < 0 || (ulong)newfd >= t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur)
        {
            f.DecRef();
            return -Errno.EBADF.Value;
        }

        t.Fds.Set(newfd, f, cloexec);
        f.DecRef();
        return newfd;
    }
}
