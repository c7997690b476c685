using System;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Ipc;
using Moat.Sentry.Net;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// mq_open(2), mq_unlink(2), mq_timedsend(2), mq_timedreceive(2), mq_notify(2), mq_getsetattr(2): POSIX message
/// queues of the task's IPC namespace, with Linux's checks in Linux's order (ipc/mqueue.c). The names reach the
/// kernel without glibc's leading '/'.
/// </summary>
internal static class SysMqueue
{
    private const int PathMax = 4096;

    /// <summary>Implements mq_open(2): the attributes are read first, then the name; descriptors are close-on-exec.</summary>
    public static long MqOpen(Task t, in SyscallArgs a)
    {
        int oflag = a.Int(1);
        MqAttr? attr = null;
        if (a.Pointer(3) != 0)
        {
            if (t.MM.CopyIn(a.Pointer(3), out MqAttr at) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            attr = at;
        }

        long r = ReadName(t, a.Pointer(0), out string name);
        if (r < 0)
        {
            return r;
        }

        MqRegistry mq = t.Kernel.Ipc.Mq;
        uint mode = a.UInt(2) & 0xffff & ~(uint)t.Group.Umask;
        r = mq.Open(t.Credentials, name, oflag, mode, attr, t.Group.Limit(RlimitResource.RLIMIT_MSGQUEUE).rlim_cur, out PosixMessageQueue? q);
        if (r < 0)
        {
            return r;
        }

        var f = new MqueueFile(mq, q!, oflag);
        int fd = t.Fds.Add(f, true, 0, (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue));
        f.DecRef();
        return fd;
    }

    /// <summary>Implements mq_unlink(2).</summary>
    public static long MqUnlink(Task t, in SyscallArgs a)
    {
        long r = ReadName(t, a.Pointer(0), out string name);
        return r < 0 ? r : t.Kernel.Ipc.Mq.Unlink(t.Credentials, name);
    }

    /// <summary>Implements mq_timedsend(2): timeout, priority, descriptor, size, then the message is read.</summary>
    public static long MqTimedsend(Task t, in SyscallArgs a)
    {
        long r = ReadDeadline(t, a.Pointer(4), out int timeoutMs);
        if (r < 0)
        {
            return r;
        }

        uint prio = a.UInt(3);
        if (prio >= MqConst.MQ_PRIO_MAX)
        {
            return -Errno.EINVAL.Value;
        }

        FileDescription? fd = t.Fds.Get(a.Int(0));
        if (fd == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if (fd is not MqueueFile f || !f.Writable)
            {
                return -Errno.EBADF.Value;
            }

            ulong len = a.SizeT(2);
            if (len > (ulong)f.Queue.MsgSize)
            {
                return -Errno.EMSGSIZE.Value;
            }

            byte[] data = len == 0 ? [] : new byte[len];
            if (len > 0 && t.MM.CopyIn(a.Pointer(1), data) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return f.Queue.Send(t, data, prio, f.NonBlocking, timeoutMs);
        }
        finally
        {
            fd.DecRef();
        }
    }

    /// <summary>
    /// Implements mq_timedreceive(2). A message that cannot be copied out is lost, with EFAULT, as on Linux.
    /// </summary>
    public static long MqTimedreceive(Task t, in SyscallArgs a)
    {
        long r = ReadDeadline(t, a.Pointer(4), out int timeoutMs);
        if (r < 0)
        {
            return r;
        }

        FileDescription? fd = t.Fds.Get(a.Int(0));
        if (fd == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if (fd is not MqueueFile f || !f.Readable)
            {
                return -Errno.EBADF.Value;
            }

            if (a.SizeT(2) < (ulong)f.Queue.MsgSize)
            {
                return -Errno.EMSGSIZE.Value;
            }

            r = f.Queue.Receive(t, f.NonBlocking, timeoutMs, out byte[]? data, out uint prio);
            if (r < 0)
            {
                return r;
            }

            if ((a.Pointer(3) != 0 && t.MM.CopyOut(a.Pointer(3), prio) < 0) ||
                (data!.Length > 0 && t.MM.CopyOut(a.Pointer(1), data) < 0))
            {
                return -Errno.EFAULT.Value;
            }

            return data.Length;
        }
        finally
        {
            fd.DecRef();
        }
    }

    /// <summary>
    /// Implements mq_notify(2): SIGEV_NONE, SIGEV_SIGNAL and SIGEV_THREAD (a cookie sent to the netlink socket
    /// glibc's helper thread reads, as Linux does); a null event removes the caller's registration.
    /// </summary>
    public static long MqNotify(Task t, in SyscallArgs a)
    {
        int kind = -1;
        int signo = 0;
        ulong value = 0;
        NetlinkSocket? sink = null;
        byte[]? cookie = null;
        if (a.Pointer(1) != 0)
        {
            // struct sigevent: sigev_value (8), sigev_signo (4), sigev_notify (4), then the union.
            Span<byte> ev = stackalloc byte[64];
            if (t.MM.CopyIn(a.Pointer(1), ev) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            value = BitConverter.ToUInt64(ev);
            signo = BitConverter.ToInt32(ev[8..]);
            kind = BitConverter.ToInt32(ev[12..]);
            if (kind is not (MqConst.SIGEV_NONE or MqConst.SIGEV_SIGNAL or MqConst.SIGEV_THREAD))
            {
                return -Errno.EINVAL.Value;
            }

            if (kind == MqConst.SIGEV_SIGNAL && (uint)signo > Signal.SIGRTMAX)
            {
                return -Errno.EINVAL.Value;
            }

            if (kind == MqConst.SIGEV_THREAD)
            {
                cookie = new byte[MqConst.NOTIFY_COOKIE_LEN];
                if (t.MM.CopyIn(value, cookie) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                FileDescription? s = t.Fds.Get(signo);
                if (s == null)
                {
                    return -Errno.EBADF.Value;
                }

                s.DecRef();
                if (s is not NetlinkSocket nl)
                {
                    // netlink_getsockbyfilp: a socket of another family is EINVAL, anything else ENOTSOCK.
                    return s.Stat(out Stat st) == 0 && (st.st_mode & Stat.S_IFMT) == Stat.S_IFSOCK ? -Errno.EINVAL.Value : -Errno.ENOTSOCK.Value;
                }

                sink = nl;
            }
        }

        FileDescription? fd = t.Fds.Get(a.Int(0));
        if (fd == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return fd is MqueueFile f ? f.Queue.SetNotification(t.Group, kind, signo, value, sink, cookie) : -Errno.EBADF.Value;
        }
        finally
        {
            fd.DecRef();
        }
    }

    /// <summary>Implements mq_getsetattr(2): only O_NONBLOCK may be set; the old attributes come back.</summary>
    public static long MqGetsetattr(Task t, in SyscallArgs a)
    {
        MqAttr set = default;
        bool setting = a.Pointer(1) != 0;
        if (setting)
        {
            if (t.MM.CopyIn(a.Pointer(1), out set) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if ((set.mq_flags & ~(long)OpenFlags.O_NONBLOCK) != 0)
            {
                return -Errno.EINVAL.Value;
            }
        }

        FileDescription? fd = t.Fds.Get(a.Int(0));
        if (fd == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if (fd is not MqueueFile f)
            {
                return -Errno.EBADF.Value;
            }

            MqAttr old = f.Queue.Attributes();
            old.mq_flags = f.NonBlocking ? OpenFlags.O_NONBLOCK : 0;
            if (setting)
            {
                f.SetNonBlocking((set.mq_flags & OpenFlags.O_NONBLOCK) != 0);
            }

            return a.Pointer(2) != 0 && t.MM.CopyOut(a.Pointer(2), old) < 0 ? -Errno.EFAULT.Value : 0;
        }
        finally
        {
            fd.DecRef();
        }
    }

    // getname, then the mqueue lookup's checks on the name. Returns 0 with the name or -errno.
    private static long ReadName(Task t, ulong addr, out string name)
    {
        long r = t.MM.CopyInString(addr, PathMax - 1, out name);
        if (r < 0)
        {
            return r;
        }

        if (name.Length == 0)
        {
            return -Errno.ENOENT.Value;
        }

        Errno e = MqRegistry.CheckName(name);
        return e.IsNone ? 0 : -e.Value;
    }

    // An absolute CLOCK_REALTIME deadline (prepare_timeout): EFAULT, EINVAL, or the milliseconds left (-1 without
    // one, 0 once it passed).
    private static long ReadDeadline(Task t, ulong addr, out int timeoutMs)
    {
        timeoutMs = -1;
        if (addr == 0)
        {
            return 0;
        }

        long r = TimespecArg.CopyIn(t, addr, out Timespec ts);
        if (r < 0)
        {
            return r;
        }

        HostProcess.ClockGettime(0, out Timespec now);
        long sec = ts.tv_sec - now.tv_sec;
        if (sec > int.MaxValue / 1000)
        {
            timeoutMs = int.MaxValue;
            return 0;
        }

        long nanos = (sec * 1_000_000_000) + ts.tv_nsec - now.tv_nsec;
        timeoutMs = nanos <= 0 ? 0 : (int)Math.Min((nanos + 999_999) / 1_000_000, int.MaxValue);
        return 0;
    }
}
