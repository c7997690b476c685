using System;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>Directories and file-system wide calls: chdir, fchdir, getdents64, umask, statfs.</summary>
internal static unsafe class SysDir
{
    /// <summary>Implements chdir(2).</summary>
    public static long Chdir(Task t, in SyscallArgs a)
    {
        long r = PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(0), followLast: true, out string absolute);
        if (r < 0)
        {
            return r;
        }

        string norm = PathResolver.Normalize(absolute);
        {
            r = PathOps.Stat(t, absolute, follow: true, out Stat st);
            if (r < 0)
            {
                return r;
            }

            if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
            {
                return -Errno.ENOTDIR.Value;
            }

            // The working directory is the directory's real path (symlinks and ".." resolved) where the host
            // knows it, as getcwd shows it.
            string cwd = norm;
            if (t.Group.Mounts.Find(norm, out _) is { Kind: Vfs.Mounts.MountKind.Overlay, MountPoint: "/", Root: "/" })
            {
                cwd = HostRealPath(t, absolute) ?? norm;
            }

            t.Group.Cwd = cwd;
            return 0;
        }
    }

    // The host's name for a host directory, read from the fd the dentry cache holds (or a fresh one).
    private static string? HostRealPath(Task t, string absolute)
    {
        long r = t.Kernel.HostCache.Acquire(absolute, follow: true, read: false, out SafeFdHandle? fd, out bool shared, out _);
        if (r == Vfs.HostCache.HostDentryCache.NotShared)
        {
            fd = t.Kernel.Files.Open(absolute, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY, out r);
            shared = false;
        }

        if (fd == null || r < 0)
        {
            return null;
        }

        string? real = HostPath.FdPath(fd.Fd, out _);
        if (shared)
        {
            fd.DangerousRelease();
        }
        else
        {
            fd.Dispose();
        }

        return real;
    }

    /// <summary>Implements fchdir(2).</summary>
    public static long Fchdir(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if (f.Path == null || f.Stat(out Stat st) < 0 || (st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
            {
                return -Errno.ENOTDIR.Value;
            }

            // A host directory of the root is named as the host names it; one reached through a bind by the bind's path.
            bool throughBind = f.MountId != 0 && t.Group.Mounts.ById(f.MountId) is { WalksLinks: true };
            t.Group.Cwd = f is HostFileDescription { Volume: null } h && !throughBind ? HostPath.FdPath(h.HostFd, out _) ?? f.Path : f.Path;
            return 0;
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements getdents64(2) on host directories: entries come straight from the host's listing.</summary>
    public static long Getdents64(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if (f is Vfs.SnapshotDirectory pd)
            {
                return pd.Getdents64(t, a.Pointer(1), (int)System.Math.Min(a.SizeT(2), int.MaxValue));
            }

            if (f is Vfs.Tmpfs.TmpfsFile tf)
            {
                return tf.Getdents64(t, a.Pointer(1), (int)System.Math.Min(a.SizeT(2), int.MaxValue));
            }

            if (f is not HostFileDescription h)
            {
                return -Errno.ENOTDIR.Value;
            }

            int count = (int)Math.Min(a.SizeT(2), 1 << 16);
            byte[] buf = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(count, 1));
            try
            {
                long n;
                fixed (byte* p = buf)
                {
                    n = HostProcess.Syscall(Sysno.getdents64, h.HostFd, (long)p, count);
                }

                if (n <= 0)
                {
                    return n;
                }

                long r = t.MM.CopyOut(a.Pointer(1), buf.AsSpan(0, (int)n));
                return r < 0 ? r : n;
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buf);
            }
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements umask(2).</summary>
    public static long Umask(Task t, in SyscallArgs a)
    {
        int old = t.Group.Umask;
        t.Group.Umask = a.Int(0) & 0x1FF;
        return old;
    }

    /// <summary>Implements fstatfs(2): the file system the file is on answers.</summary>
    public static long Fstatfs(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            Span<byte> st = stackalloc byte[FsStatistics.Size];
            long r = FsStatistics.ForFile(t, f, st);
            return r < 0 ? r : t.MM.CopyOut(a.Pointer(1), st);
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements statfs(2): the file system the path is on in the sandbox answers.</summary>
    public static long Statfs(Task t, in SyscallArgs a)
    {
        long r = PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(0), followLast: true, out string absolute);
        if (r < 0)
        {
            return r;
        }

        Span<byte> st = stackalloc byte[FsStatistics.Size];
        r = FsStatistics.ForPath(t, absolute, st);
        return r < 0 ? r : t.MM.CopyOut(a.Pointer(1), st);
    }

    /// <summary>Implements fadvise64(2): advice is checked and, as Linux may, acted on by doing nothing.</summary>
    public static long Fadvise64(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        bool isPipe = f is PipeEnd;
        f.DecRef();
        if (isPipe)
        {
            return -Errno.ESPIPE.Value;
        }

        return a.Int(3) is < 0 or > 5 || a.Long(2) < 0 ? -Errno.EINVAL.Value : 0;
    }
}
