using System;
using System.Runtime.InteropServices;

namespace Moat.Host;

/// <summary>poll(2), pidfds and eventfds: what the Sentry needs to watch host processes from one thread.</summary>
public static unsafe class HostPoll
{
    public const short POLLIN = 0x1;
    private const int EFD_CLOEXEC = 0x80000;
    private const int PidfdOpenNr = 434;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>poll(2) over <paramref name="fds"/>; returns the number ready, or -errno.</summary>
    public static long Poll(Span<PollFd> fds, int timeoutMs)
    {
        fixed (PollFd* p = fds)
        {
            return HostResult.FromInt(Interop.Libc.poll(p, (ulong)fds.Length, timeoutMs));
        }
    }

    /// <summary>pidfd_open(2): an fd that polls readable once the process has exited. Null with -errno.</summary>
    public static SafeFdHandle? PidfdOpen(int pid, out long error)
    {
        long r = HostResult.FromLong(Interop.Libc.syscall(PidfdOpenNr, pid, 0, 0, 0, 0, 0));
        error = r < 0 ? r : 0;
        return r < 0 ? null : new SafeFdHandle((int)r);
    }

    /// <summary>A close-on-exec eventfd, for waking a poller. Null with -errno.</summary>
    public static SafeFdHandle? EventFd(out long error)
    {
        long r = HostResult.FromInt(Interop.Libc.eventfd(0, EFD_CLOEXEC));
        error = r < 0 ? r : 0;
        return r < 0 ? null : new SafeFdHandle((int)r);
    }
}
