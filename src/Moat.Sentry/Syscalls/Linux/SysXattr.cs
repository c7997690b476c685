using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>The extended-attribute calls: set, get, list and remove, by path (following or not) or by fd.</summary>
internal static class SysXattr
{
    /// <summary>Implements setxattr(2).</summary>
    public static long Setxattr(Task t, in SyscallArgs a) => SetPath(t, a, follow: true);

    /// <summary>Implements lsetxattr(2).</summary>
    public static long Lsetxattr(Task t, in SyscallArgs a) => SetPath(t, a, follow: false);

    /// <summary>Implements fsetxattr(2).</summary>
    public static long Fsetxattr(Task t, in SyscallArgs a)
    {
        long r = CopyInSet(t, a, out string name, out byte[] value);
        int flags = a.Int(4);
        return r < 0 ? r : OnFile(t, a.Int(0), change: true, (f, p) => p != null ? Change(t, p, false, name, value, flags) : Xattrs.Set(t, f, name, value, flags));
    }

    /// <summary>Implements getxattr(2).</summary>
    public static long Getxattr(Task t, in SyscallArgs a) => GetPath(t, a, follow: true);

    /// <summary>Implements lgetxattr(2).</summary>
    public static long Lgetxattr(Task t, in SyscallArgs a) => GetPath(t, a, follow: false);

    /// <summary>Implements fgetxattr(2).</summary>
    public static long Fgetxattr(Task t, in SyscallArgs a)
    {
        long r = CopyInName(t, a.Pointer(1), out string name);
        ulong buf = a.Pointer(2);
        ulong size = a.SizeT(3);
        return r < 0 ? r : OnFile(t, a.Int(0), change: false, (f, _) => CopyOutValue(t, Xattrs.Get(t, f, name, out byte[]? v), v, buf, size));
    }

    /// <summary>Implements listxattr(2).</summary>
    public static long Listxattr(Task t, in SyscallArgs a) => ListPath(t, a, follow: true);

    /// <summary>Implements llistxattr(2).</summary>
    public static long Llistxattr(Task t, in SyscallArgs a) => ListPath(t, a, follow: false);

    /// <summary>Implements flistxattr(2).</summary>
    public static long Flistxattr(Task t, in SyscallArgs a)
    {
        ulong buf = a.Pointer(1);
        ulong size = a.SizeT(2);
        return OnFile(t, a.Int(0), change: false, (f, _) => CopyOutList(t, f, buf, size));
    }

    /// <summary>Implements removexattr(2).</summary>
    public static long Removexattr(Task t, in SyscallArgs a) => RemovePath(t, a, follow: true);

    /// <summary>Implements lremovexattr(2).</summary>
    public static long Lremovexattr(Task t, in SyscallArgs a) => RemovePath(t, a, follow: false);

    /// <summary>Implements fremovexattr(2).</summary>
    public static long Fremovexattr(Task t, in SyscallArgs a)
    {
        long r = CopyInName(t, a.Pointer(1), out string name);
        return r < 0 ? r : OnFile(t, a.Int(0), change: true, (f, p) => p != null ? Change(t, p, false, name, null, 0) : Xattrs.Remove(t, f, name));
    }

    private static long SetPath(Task t, in SyscallArgs a, bool follow)
    {
        long r = CopyInSet(t, a, out string name, out byte[] value);
        string p = string.Empty;
        r = r < 0 ? r : PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(0), follow, out p);
        return r < 0 ? r : Change(t, p, follow, name, value, a.Int(4));
    }

    private static long RemovePath(Task t, in SyscallArgs a, bool follow)
    {
        long r = CopyInName(t, a.Pointer(1), out string name);
        string p = string.Empty;
        r = r < 0 ? r : PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(0), follow, out p);
        return r < 0 ? r : Change(t, p, follow, name, null, 0);
    }

    private static long GetPath(Task t, in SyscallArgs a, bool follow)
    {
        long r = CopyInName(t, a.Pointer(1), out string name);
        string p = string.Empty;
        FileDescription? f = null;
        r = r < 0 ? r : PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(0), follow, out p);
        r = r < 0 ? r : PathOps.Open(t, p, OpenFlags.O_PATH | (follow ? 0 : OpenFlags.O_NOFOLLOW), 0, out f);
        if (r < 0)
        {
            return r;
        }

        try
        {
            return CopyOutValue(t, Xattrs.Get(t, f!, name, out byte[]? v), v, a.Pointer(2), a.SizeT(3));
        }
        finally
        {
            f!.DecRef();
        }
    }

    private static long ListPath(Task t, in SyscallArgs a, bool follow)
    {
        FileDescription? f = null;
        long r = PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(0), follow, out string p);
        r = r < 0 ? r : PathOps.Open(t, p, OpenFlags.O_PATH | (follow ? 0 : OpenFlags.O_NOFOLLOW), 0, out f);
        if (r < 0)
        {
            return r;
        }

        try
        {
            return CopyOutList(t, f!, a.Pointer(1), a.SizeT(2));
        }
        finally
        {
            f!.DecRef();
        }
    }

    // setxattr and removexattr by path: the walk, EROFS, the permission checks on the file as it is, then
    // the change on its copy in the upper layer (a host file is copied up only once the change may be made).
    private static long Change(Task t, string p, bool follow, string name, byte[]? value, int flags)
    {
        if (!PathAccess.TargetForAttrChange(t, p, follow, out Stat st, out long r))
        {
            if (r < 0)
            {
                return r;
            }

            // Missing, or on a read-only mount: the open below answers which.
            r = PathOps.Stat(t, p, follow, out _);
            return r < 0 ? r : -Errno.EROFS.Value;
        }

        Errno e = Xattrs.MayAccess(t.Credentials, st, name, write: true);
        if (e != Errno.None)
        {
            return -e.Value;
        }

        r = PathOps.OpenForChange(t, p, follow, out FileDescription? f);
        if (r < 0)
        {
            return r;
        }

        try
        {
            return value != null ? Xattrs.Set(t, f!, name, value, flags) : Xattrs.Remove(t, f!, name);
        }
        finally
        {
            f!.DecRef();
        }
    }

    // The f* calls: an O_PATH fd is EBADF; a host file of the root goes by its path, as it may be copied up.
    private static long OnFile(Task t, int fd, bool change, Func<FileDescription, string?, long> op)
    {
        FileDescription? f = t.Fds.Get(fd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if ((f.StatusFlags & OpenFlags.O_PATH) != 0)
            {
                return -Errno.EBADF.Value;
            }

            if (f is HostFileDescription { Volume: null, Path: { } path })
            {
                if (change)
                {
                    return op(f, path);
                }

                // A read: the file as the path now shows it (its copy, once a change copied it up).
                long r = PathOps.OpenUnchecked(t, path, OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW, 0, out FileDescription? current);
                if (r < 0)
                {
                    return op(f, null);
                }

                try
                {
                    return op(current!, null);
                }
                finally
                {
                    current!.DecRef();
                }
            }

            return op(f, null);
        }
        finally
        {
            f.DecRef();
        }
    }

    // A name: ERANGE when empty or longer than XATTR_NAME_MAX, EFAULT when unreadable.
    private static long CopyInName(Task t, ulong addr, out string name)
    {
        long r = t.MM.CopyInString(addr, Xattrs.NameMax, out name);
        if (r == -Errno.ENAMETOOLONG.Value || (r == 0 && name.Length == 0))
        {
            return -Errno.ERANGE.Value;
        }

        return r;
    }

    // setxattr's arguments in Linux's order: flags, name, size, value.
    private static long CopyInSet(Task t, in SyscallArgs a, out string name, out byte[] value)
    {
        value = [];
        name = string.Empty;
        if ((a.Int(4) & ~(Xattrs.XATTR_CREATE | Xattrs.XATTR_REPLACE)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = CopyInName(t, a.Pointer(1), out name);
        if (r < 0)
        {
            return r;
        }

        ulong size = a.SizeT(3);
        if (size > Xattrs.SizeMax)
        {
            return -Errno.E2BIG.Value;
        }

        value = new byte[size];
        return size == 0 ? 0 : t.MM.CopyIn(a.Pointer(2), value) < 0 ? -Errno.EFAULT.Value : 0;
    }

    private static long CopyOutValue(Task t, long r, byte[]? value, ulong buf, ulong size)
    {
        if (r < 0)
        {
            return r;
        }

        if (size == 0)
        {
            return value!.Length;
        }

        if ((ulong)value!.Length > Math.Min(size, Xattrs.SizeMax))
        {
            return size >= Xattrs.SizeMax ? -Errno.E2BIG.Value : -Errno.ERANGE.Value;
        }

        r = t.MM.CopyOut(buf, value);
        return r < 0 ? -Errno.EFAULT.Value : value.Length;
    }

    private static long CopyOutList(Task t, FileDescription f, ulong buf, ulong size)
    {
        var names = new List<string>();
        long r = Xattrs.List(t, f, names);
        if (r < 0)
        {
            return r;
        }

        int total = 0;
        foreach (string n in names)
        {
            total += LinuxString.Encoding.GetByteCount(n) + 1;
        }

        if (size == 0)
        {
            return total;
        }

        if ((ulong)total > Math.Min(size, Xattrs.ListMax))
        {
            return size >= Xattrs.ListMax ? -Errno.E2BIG.Value : -Errno.ERANGE.Value;
        }

        byte[] list = new byte[total];
        int at = 0;
        foreach (string n in names)
        {
            at += LinuxString.Encoding.GetBytes(n, list.AsSpan(at));
            list[at++] = 0;
        }

        r = t.MM.CopyOut(buf, list);
        return r < 0 ? -Errno.EFAULT.Value : total;
    }
}
