using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>poll(2), ppoll(2), select(2), pselect6(2).</summary>
internal static class SysPoll
{
    private const int AlwaysReported = PollEvents.POLLERR | PollEvents.POLLHUP | PollEvents.POLLNVAL;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>Implements poll(2).</summary>
    public static long Poll(Task t, in SyscallArgs a)
    {
        int timeout = a.Int(2);
        if (timeout < 0)
        {
            long r = DoPoll(t, a.Pointer(0), a.UInt(1), -1);
            return r == -Errno.ERESTARTSYS.Value ? -Errno.ERESTARTNOHAND.Value : r;
        }

        return PollRestart.Run(t, a.Pointer(0), a.UInt(1), WaitDeadline.FromNow(timeout * 1_000_000L));
    }

    // poll with a timeout, interrupted by a stop or a signal without a handler, goes on through restart_syscall
    // to the same deadline (Linux's do_restart_poll); a handler makes it EINTR.
    private sealed class PollRestart(ulong addr, uint nfds, long deadline) : ISyscallRestart
    {
        public static long Run(Task t, ulong addr, uint nfds, long deadline)
        {
            long r = DoPoll(t, addr, nfds, WaitDeadline.MillisLeft(deadline));
            if (r != -Errno.ERESTARTSYS.Value)
            {
                return r;
            }

            t.SyscallRestart = new PollRestart(addr, nfds, deadline);
            return -Errno.ERESTART_RESTARTBLOCK.Value;
        }

        public long Restart(Task t) => Run(t, addr, nfds, deadline);
    }

    /// <summary>Implements ppoll(2).</summary>
    public static long Ppoll(Task t, in SyscallArgs a)
    {
        ulong tsAddr = a.Pointer(2);
        long r = ReadTimeout(t, tsAddr, out long deadline, out bool zero);
        if (r < 0)
        {
            return r;
        }

        r = SwapMask(t, a.Pointer(3), a.SizeT(4));
        if (r < 0)
        {
            return r;
        }

        r = DoPoll(t, a.Pointer(0), a.UInt(1), zero ? 0 : WaitDeadline.MillisLeft(deadline));
        return Finish(t, tsAddr, zero, deadline, timeval: false, r);
    }

    private static long DoPoll(Task t, ulong addr, uint nfds, int timeoutMs)
    {
        if (nfds > t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur)
        {
            return -Errno.EINVAL.Value;
        }

        var pfds = new PollFd[nfds];
        if (t.MM.CopyIn(addr, MemoryMarshal.AsBytes(pfds.AsSpan())) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        var files = new FileDescription?[nfds];
        var held = new List<FileDescription>();
        for (int i = 0; i < nfds; i++)
        {
            files[i] = pfds[i].Fd < 0 ? null : t.Fds.Get(pfds[i].Fd);
            if (files[i] != null)
            {
                held.Add(files[i]!);
            }
        }

        try
        {
            int count = 0;
            bool Check()
            {
                count = 0;
                for (int i = 0; i < pfds.Length; i++)
                {
                    int ev = pfds[i].Events;
                    int rev = pfds[i].Fd < 0 ? 0 : files[i] == null ? PollEvents.POLLNVAL : files[i]!.Readiness(ev | AlwaysReported) & (ev | AlwaysReported);
                    pfds[i].Revents = (short)rev;
                    if (rev != 0)
                    {
                        count++;
                    }
                }

                return count > 0;
            }

            if (!Check() && timeoutMs != 0)
            {
                long r = ReadinessWait.Wait(t, held, Check, timeoutMs);
                if (r == -Errno.ERESTARTSYS.Value)
                {
                    return r;
                }
            }

            return t.MM.CopyOut(addr, MemoryMarshal.AsBytes(pfds.AsSpan())) < 0 ? -Errno.EFAULT.Value : count;
        }
        finally
        {
            foreach (FileDescription f in held)
            {
                f.DecRef();
            }
        }
    }

    /// <summary>Implements select(2). As on Linux, the timeout is updated to the time left.</summary>
    public static long Select(Task t, in SyscallArgs a)
    {
        ulong tvAddr = a.Pointer(4);
        long deadline = long.MaxValue;
        bool zero = false;
        if (tvAddr != 0)
        {
            if (t.MM.CopyIn(tvAddr, out Timeval tv) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1_000_000)
            {
                return -Errno.EINVAL.Value;
            }

            zero = tv.tv_sec == 0 && tv.tv_usec == 0;
            deadline = WaitDeadline.FromNow(tv.tv_sec > long.MaxValue / 1_000_000_000 ? long.MaxValue : (tv.tv_sec * 1_000_000_000) + (tv.tv_usec * 1000));
        }

        long r = DoSelect(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3), zero ? 0 : WaitDeadline.MillisLeft(deadline));
        return Finish(t, tvAddr, zero, deadline, timeval: true, r);
    }

    /// <summary>Implements pselect6(2).</summary>
    public static long Pselect6(Task t, in SyscallArgs a)
    {
        ulong tsAddr = a.Pointer(4);
        long r = ReadTimeout(t, tsAddr, out long deadline, out bool zero);
        if (r < 0)
        {
            return r;
        }

        if (a.Pointer(5) != 0)
        {
            // struct { const sigset_t *ss; size_t ss_len; }
            Span<ulong> sm = stackalloc ulong[2];
            if (t.MM.CopyIn(a.Pointer(5), MemoryMarshal.AsBytes(sm)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            r = SwapMask(t, sm[0], sm[1]);
            if (r < 0)
            {
                return r;
            }
        }

        r = DoSelect(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3), zero ? 0 : WaitDeadline.MillisLeft(deadline));
        return Finish(t, tsAddr, zero, deadline, timeval: false, r);
    }

    // Linux's poll_select_finish: the caller's timeout (unless it was zero) now holds the time left, whatever
    // the result, so an interrupted call (ERESTARTNOHAND: EINTR under a handler, otherwise started again)
    // goes on with that time. If the timeout cannot be written back, an interrupted call is EINTR.
    private static long Finish(Task t, ulong addr, bool zero, long deadline, bool timeval, long r)
    {
        if (r == -Errno.ERESTARTSYS.Value)
        {
            r = -Errno.ERESTARTNOHAND.Value;
        }

        if (addr == 0 || zero)
        {
            return r;
        }

        // A result of 0 is a timeout: the wait's timer may fire a few microseconds before the deadline by this
        // clock, and Linux's hrtimer has always passed it by then, so the time left is zero.
        long left = r == 0 ? 0 : WaitDeadline.NanosLeft(deadline);
        long sec = left / 1_000_000_000, nsec = left % 1_000_000_000;
        long copied = timeval
            ? t.MM.CopyOut(addr, new Timeval { tv_sec = sec, tv_usec = nsec / 1000 })
            : t.MM.CopyOut(addr, new Timespec { tv_sec = sec, tv_nsec = nsec });
        return copied < 0 && r == -Errno.ERESTARTNOHAND.Value ? -Errno.EINTR.Value : r;
    }

    private static long DoSelect(Task t, int nfds, ulong readAddr, ulong writeAddr, ulong exceptAddr, int timeoutMs)
    {
        if (nfds < 0 || nfds > 1024 * 1024)
        {
            return -Errno.EINVAL.Value;
        }

        int words = (nfds + 63) / 64;
        var sets = new ulong[3][];
        ulong[] addrs = [readAddr, writeAddr, exceptAddr];
        for (int k = 0; k < 3; k++)
        {
            sets[k] = new ulong[words];
            if (addrs[k] != 0 && words > 0 && t.MM.CopyIn(addrs[k], MemoryMarshal.AsBytes(sets[k].AsSpan()).Slice(0, (nfds + 7) / 8)) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        var files = new Dictionary<int, FileDescription>();
        try
        {
            for (int fd = 0; fd < nfds; fd++)
            {
                ulong bit = 1UL << (fd % 64);
                if (((sets[0][fd / 64] | sets[1][fd / 64] | sets[2][fd / 64]) & bit) == 0)
                {
                    continue;
                }

                FileDescription? f = t.Fds.Get(fd);
                if (f == null)
                {
                    return -Errno.EBADF.Value;
                }

                files[fd] = f;
            }

            var result = new ulong[3][] { new ulong[words], new ulong[words], new ulong[words] };
            int count = 0;
            bool Check()
            {
                count = 0;
                foreach ((int fd, FileDescription f) in files)
                {
                    ulong bit = 1UL << (fd % 64);
                    int w = fd / 64;
                    int rev = f.Readiness(PollEvents.POLLIN | PollEvents.POLLOUT | PollEvents.POLLPRI | AlwaysReported);
                    SetIf(result[0], sets[0], w, bit, (rev & (PollEvents.POLLIN | PollEvents.POLLHUP | PollEvents.POLLERR)) != 0, ref count);
                    SetIf(result[1], sets[1], w, bit, (rev & (PollEvents.POLLOUT | PollEvents.POLLERR)) != 0, ref count);
                    SetIf(result[2], sets[2], w, bit, (rev & PollEvents.POLLPRI) != 0, ref count);
                }

                return count > 0;
            }

            if (!Check() && timeoutMs != 0)
            {
                long r = ReadinessWait.Wait(t, files.Values, Check, timeoutMs);
                if (r == -Errno.ERESTARTSYS.Value)
                {
                    return r;
                }
            }

            for (int k = 0; k < 3; k++)
            {
                if (addrs[k] != 0 && words > 0 && t.MM.CopyOut(addrs[k], MemoryMarshal.AsBytes(result[k].AsSpan()).Slice(0, (nfds + 7) / 8)) < 0)
                {
                    return -Errno.EFAULT.Value;
                }
            }

            return count;
        }
        finally
        {
            foreach (FileDescription f in files.Values)
            {
                f.DecRef();
            }
        }
    }

    private static void SetIf(ulong[] result, ulong[] wanted, int word, ulong bit, bool ready, ref int count)
    {
        if (ready && (wanted[word] & bit) != 0)
        {
            result[word] |= bit;
            count++;
        }
    }

    private static long ReadTimeout(Task t, ulong addr, out long deadline, out bool zero)
    {
        deadline = long.MaxValue;
        zero = false;
        if (addr == 0)
        {
            return 0;
        }

        long r = TimespecArg.CopyIn(t, addr, out Timespec ts);
        if (r < 0)
        {
            return r;
        }

        zero = ts.tv_sec == 0 && ts.tv_nsec == 0;
        deadline = WaitDeadline.FromNow(ts.tv_sec > long.MaxValue / 1_000_000_000 ? long.MaxValue : (ts.tv_sec * 1_000_000_000) + ts.tv_nsec);
        return 0;
    }

    // Installs a temporary signal mask for the wait; like sigsuspend, a handler's frame saves the old one.
    private static long SwapMask(Task t, ulong maskAddr, ulong size)
    {
        if (maskAddr == 0)
        {
            return 0;
        }

        if (size != 8)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyIn(maskAddr, out ulong mask) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        t.SavedMaskForSigsuspend = t.SignalMask;
        t.SignalMask = mask;
        return 0;
    }
}
