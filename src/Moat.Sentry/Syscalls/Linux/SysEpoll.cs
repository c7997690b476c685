using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>epoll(7) and eventfd(2).</summary>
internal static class SysEpoll
{
    private const int MaxEvents = int.MaxValue / 12;

    /// <summary>Implements epoll_create(2).</summary>
    public static long EpollCreate(Task t, in SyscallArgs a) => a.Int(0) <= 0 ? -Errno.EINVAL.Value : Create(t, 0);

    /// <summary>Implements epoll_create1(2).</summary>
    public static long EpollCreate1(Task t, in SyscallArgs a)
    {
        int flags = a.Int(0);
        return (flags & ~OpenFlags.O_CLOEXEC) != 0 ? -Errno.EINVAL.Value : Create(t, flags);
    }

    private static long Create(Task t, int flags)
    {
        var ep = new EpollInstance();
        int fd = t.Fds.Add(ep, (flags & OpenFlags.O_CLOEXEC) != 0, 0, (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue));
        ep.DecRef();
        return fd;
    }

    /// <summary>Implements epoll_ctl(2).</summary>
    public static long EpollCtl(Task t, in SyscallArgs a)
    {
        FileDescription? epf = t.Fds.Get(a.Int(0));
        if (epf == null)
        {
            return -Errno.EBADF.Value;
        }

        FileDescription? target = t.Fds.Get(a.Int(2));
        try
        {
            if (target == null)
            {
                return -Errno.EBADF.Value;
            }

            if (epf is not EpollInstance ep)
            {
                return -Errno.EINVAL.Value;
            }

            if (target is HostFileDescription h && !h.PolledFromHost)
            {
                return -Errno.EPERM.Value; // regular files and directories cannot be watched
            }

            // Directories have no poll method in Linux, nor do tmpfs and disk files (some /proc files do).
            if (target.Stat(out Stat st) >= 0 && ((st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR ||
                ((st.st_mode & Stat.S_IFMT) == Stat.S_IFREG && target is Vfs.Tmpfs.TmpfsFile or HostFileDescription)))
            {
                return -Errno.EPERM.Value;
            }

            uint events = 0;
            ulong data = 0;
            int op = a.Int(1);
            if (op != 2)
            {
                // struct epoll_event is packed on x86-64: u32 events, u64 data.
                Span<byte> ev = stackalloc byte[12];
                if (t.MM.CopyIn(a.Pointer(3), ev) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                events = BitConverter.ToUInt32(ev);
                data = BitConverter.ToUInt64(ev[4..]);
            }

            return ep.Control(op, a.Int(2), target, events, data);
        }
        finally
        {
            target?.DecRef();
            epf.DecRef();
        }
    }

    /// <summary>Implements epoll_wait(2).</summary>
    public static long EpollWait(Task t, in SyscallArgs a)
    {
        long r = Wait(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int(3));
        return r == -Errno.ERESTARTSYS.Value ? -Errno.EINTR.Value : r;
    }

    /// <summary>Implements epoll_pwait(2).</summary>
    public static long EpollPwait(Task t, in SyscallArgs a) => Pwait(t, a, a.Int(3));

    /// <summary>
    /// Implements epoll_pwait2(2): epoll_pwait with a timespec timeout (NULL waits for ever), rounded up to the
    /// millisecond the wait counts in.
    /// </summary>
    public static long EpollPwait2(Task t, in SyscallArgs a)
    {
        int timeoutMs = -1;
        if (a.Pointer(3) != 0)
        {
            if (t.MM.CopyIn(a.Pointer(3), out Timespec ts) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (ts.tv_sec < 0 || (ulong)ts.tv_nsec >= 1_000_000_000)
            {
                return -Errno.EINVAL.Value;
            }

            long ms = ts.tv_sec > int.MaxValue / 1000 ? int.MaxValue : (ts.tv_sec * 1000) + ((ts.tv_nsec + 999_999) / 1_000_000);
            timeoutMs = (int)Math.Min(ms, int.MaxValue);
        }

        return Pwait(t, a, timeoutMs);
    }

    private static long Pwait(Task t, in SyscallArgs a, int timeoutMs)
    {
        if (a.Pointer(4) != 0)
        {
            if (a.SizeT(5) != 8)
            {
                return -Errno.EINVAL.Value;
            }

            if (t.MM.CopyIn(a.Pointer(4), out ulong mask) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            t.SavedMaskForSigsuspend = t.SignalMask;
            t.SignalMask = mask;
        }

        long r = Wait(t, a.Int(0), a.Pointer(1), a.Int(2), timeoutMs);
        return r == -Errno.ERESTARTSYS.Value ? -Errno.EINTR.Value : r;
    }

    private static long Wait(Task t, int epfd, ulong eventsAddr, int maxEvents, int timeoutMs)
    {
        if (maxEvents <= 0 || maxEvents > MaxEvents)
        {
            return -Errno.EINVAL.Value;
        }

        FileDescription? f = t.Fds.Get(epfd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if (f is not EpollInstance ep)
            {
                return -Errno.EINVAL.Value;
            }

            var ready = new (uint Events, ulong Data)[Math.Min(maxEvents, 1024)];
            int n = ep.Collect(ready, t);
            if (n == 0 && timeoutMs != 0)
            {
                long r = ReadinessWait.Wait(t, ep.Files(), () => (n = ep.Collect(ready, t)) > 0, timeoutMs < 0 ? -1 : timeoutMs);
                if (r == -Errno.ERESTARTSYS.Value)
                {
                    return r;
                }
            }

            Span<byte> buf = new byte[n * 12];
            for (int i = 0; i < n; i++)
            {
                BitConverter.TryWriteBytes(buf[(i * 12)..], ready[i].Events);
                BitConverter.TryWriteBytes(buf[((i * 12) + 4)..], ready[i].Data);
            }

            return t.MM.CopyOut(eventsAddr, buf) < 0 ? -Errno.EFAULT.Value : n;
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements eventfd2(2).</summary>
    public static long Eventfd2(Task t, in SyscallArgs a)
    {
        int flags = a.Int(1);
        if ((flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK | EventFd.EFD_SEMAPHORE)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        var e = new EventFd(a.UInt(0), flags);
        int fd = t.Fds.Add(e, (flags & OpenFlags.O_CLOEXEC) != 0, 0, (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue));
        e.DecRef();
        return fd;
    }

    /// <summary>Implements eventfd(2).</summary>
    public static long Eventfd(Task t, in SyscallArgs a) => Eventfd2(t, new SyscallArgs(a[0], 0));
}
