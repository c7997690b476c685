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
        long r = DoPoll(t, a.Pointer(0), a.UInt(1), timeout < 0 ? -1 : timeout);
        return r == -Errno.ERESTARTSYS.Value ? -Errno.ERESTARTNOHAND.Value : r;
    }

    /// <summary>Implements ppoll(2).</summary>
    public static long Ppoll(Task t, in SyscallArgs a)
    {
        long r = ReadTimeout(t, a.Pointer(2), out int timeout);
        if (r < 0)
        {
            return r;
        }

        r = SwapMask(t, a.Pointer(3), a.SizeT(4));
        if (r < 0)
        {
            return r;
        }

        r = DoPoll(t, a.Pointer(0), a.UInt(1), timeout);
        return r == -Errno.ERESTARTSYS.Value ? Interrupted(timeout) : r;
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

    /// <summary>Implements select(2).</summary>
    public static long Select(Task t, in SyscallArgs a)
    {
        int timeout = -1;
        if (a.Pointer(4) != 0)
        {
            if (t.MM.CopyIn(a.Pointer(4), out Timeval tv) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1_000_000)
            {
                return -Errno.EINVAL.Value;
            }

            timeout = (int)Math.Min((tv.tv_sec * 1000) + ((tv.tv_usec + 999) / 1000), int.MaxValue);
        }

        long r = DoSelect(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3), timeout);
        return r == -Errno.ERESTARTSYS.Value ? -Errno.ERESTARTNOHAND.Value : r;
    }

    /// <summary>Implements pselect6(2).</summary>
    public static long Pselect6(Task t, in SyscallArgs a)
    {
        long r = ReadTimeout(t, a.Pointer(4), out int timeout);
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

        r = DoSelect(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3), timeout);
        return r == -Errno.ERESTARTSYS.Value ? Interrupted(timeout) : r;
    }

    // ppoll and pselect6 end with EINTR under a handler; otherwise (a stop, then SIGCONT) Linux restarts them
    // with the time left. Moat does not write the time left back, so only an unbounded wait restarts.
    private static long Interrupted(int timeoutMs) => timeoutMs < 0 ? -Errno.ERESTARTNOHAND.Value : -Errno.EINTR.Value;

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

    private static long ReadTimeout(Task t, ulong addr, out int timeoutMs)
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

        timeoutMs = (int)Math.Min((ts.tv_sec * 1000) + ((ts.tv_nsec + 999_999) / 1_000_000), int.MaxValue);
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
