using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;
using Moat.Sentry.Vfs.Inotify;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch.</summary>
internal static class SysInotify
{
    /// <summary>Implements inotify_init1(2).</summary>
    public static long InotifyInit1(Task t, in SyscallArgs a)
    {
        int flags = a.Int(0);
        if ((flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        var f = new InotifyFile(flags);
        int fd = t.Fds.Add(f, (flags & OpenFlags.O_CLOEXEC) != 0, 0, (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue));
        f.DecRef();
        return fd;
    }

    /// <summary>Implements inotify_init(2).</summary>
    public static long InotifyInit(Task t, in SyscallArgs a) => InotifyInit1(t, new SyscallArgs(0));

    /// <summary>Implements inotify_add_watch(2), with Linux's order of checks.</summary>
    public static long InotifyAddWatch(Task t, in SyscallArgs a)
    {
        uint mask = a.UInt(2);
        if ((mask & InotifyMask.IN_ALL_EVENTS) == 0 ||
            (mask & (InotifyMask.IN_MASK_ADD | InotifyMask.IN_MASK_CREATE)) == (InotifyMask.IN_MASK_ADD | InotifyMask.IN_MASK_CREATE))
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
            if (f is not InotifyFile inotify)
            {
                return -Errno.EINVAL.Value;
            }

            long r = PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(1), followLast: (mask & InotifyMask.IN_DONT_FOLLOW) == 0, out string absolute);
            if (r < 0)
            {
                return r;
            }

            r = PathOps.Stat(t, absolute, (mask & InotifyMask.IN_DONT_FOLLOW) == 0, out Stat st);
            if (r < 0)
            {
                return r;
            }

            if ((mask & InotifyMask.IN_ONLYDIR) != 0 && (st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
            {
                return -Errno.ENOTDIR.Value;
            }

            return inotify.AddWatch(InodeKey.Of(st), mask & InotifyMask.Valid & ~(InotifyMask.IN_ONLYDIR | InotifyMask.IN_DONT_FOLLOW | InotifyMask.IN_ISDIR));
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements inotify_rm_watch(2).</summary>
    public static long InotifyRmWatch(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return f is InotifyFile inotify ? inotify.RemoveWatch(a.Int(1)) : -Errno.EINVAL.Value;
        }
        finally
        {
            f.DecRef();
        }
    }
}
