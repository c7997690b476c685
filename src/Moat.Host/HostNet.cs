using System;
using System.Runtime.InteropServices;

namespace Moat.Host;

/// <summary>
/// Host internet sockets for --network=host: the Sentry owns them (non-blocking, close-on-exec) and makes
/// each call itself, with addresses and options it has validated; an epoll instance tells it when one changes.
/// Every call returns Linux's raw convention: a non-negative value, or -errno.
/// </summary>
public static unsafe class HostNet
{
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_NOSIGNAL = 0x4000;
    public const uint EPOLLIN = 0x1;
    public const uint EPOLLOUT = 0x4;
    public const uint EPOLLERR = 0x8;
    public const uint EPOLLHUP = 0x10;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLET = 0x80000000;
    private const int EPOLL_CTL_ADD = 1;
    private const int EPOLL_CTL_DEL = 2;
    private const int EINTR = 4;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary>socket(2), always non-blocking and close-on-exec. Null with -errno.</summary>
    public static SafeFdHandle? Socket(int family, int type, int protocol, out long error)
    {
        long r = HostResult.FromInt(Interop.Libc.socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
        error = r < 0 ? r : 0;
        return r < 0 ? null : new SafeFdHandle((int)r);
    }

    public static long Bind(SafeFdHandle fd, ReadOnlySpan<byte> addr)
    {
        fixed (byte* a = addr)
        {
            return HostResult.FromInt(Interop.Libc.bind(fd.Fd, a, addr.Length));
        }
    }

    public static long Connect(SafeFdHandle fd, ReadOnlySpan<byte> addr)
    {
        fixed (byte* a = addr)
        {
            // The socket never blocks, so connect is not interrupted (a retry would answer EALREADY).
            return HostResult.FromInt(Interop.Libc.connect(fd.Fd, a, addr.Length));
        }
    }

    public static long Listen(SafeFdHandle fd, int backlog) => HostResult.FromInt(Interop.Libc.listen(fd.Fd, backlog));

    public static long Shutdown(SafeFdHandle fd, int how) => HostResult.FromInt(Interop.Libc.shutdown(fd.Fd, how));

    /// <summary>accept4(2) of a non-blocking, close-on-exec connection. Null with -errno.</summary>
    public static SafeFdHandle? Accept(SafeFdHandle fd, out long error)
    {
        long r;
        do
        {
            r = HostResult.FromInt(Interop.Libc.accept4(fd.Fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC));
        }
        while (r == -EINTR);
        error = r < 0 ? r : 0;
        return r < 0 ? null : new SafeFdHandle((int)r);
    }

    /// <summary>sendto(2) that never blocks and never raises SIGPIPE in the Sentry.</summary>
    public static long Send(SafeFdHandle fd, ReadOnlySpan<byte> data, int flags, ReadOnlySpan<byte> addr)
    {
        fixed (byte* d = data)
        fixed (byte* a = addr)
        {
            long r;
            do
            {
                r = HostResult.FromNint(Interop.Libc.sendto(fd.Fd, d, (nuint)data.Length, flags | MSG_DONTWAIT | MSG_NOSIGNAL, addr.IsEmpty ? null : a, addr.Length));
            }
            while (r == -EINTR);
            return r;
        }
    }

    /// <summary>recvfrom(2) that never blocks; <paramref name="addrLen"/> is the sender's address length.</summary>
    public static long Receive(SafeFdHandle fd, Span<byte> data, int flags, Span<byte> addr, out int addrLen)
    {
        fixed (byte* d = data)
        fixed (byte* a = addr)
        {
            int len = addr.Length;
            long r;
            do
            {
                r = HostResult.FromNint(Interop.Libc.recvfrom(fd.Fd, d, (nuint)data.Length, flags | MSG_DONTWAIT, a, &len));
            }
            while (r == -EINTR);
            addrLen = len;
            return r;
        }
    }

    public static long GetOption(SafeFdHandle fd, int level, int name, Span<byte> val, out int len)
    {
        fixed (byte* v = val)
        {
            int l = val.Length;
            long r = HostResult.FromInt(Interop.Libc.getsockopt(fd.Fd, level, name, v, &l));
            len = l;
            return r;
        }
    }

    public static long SetOption(SafeFdHandle fd, int level, int name, ReadOnlySpan<byte> val)
    {
        fixed (byte* v = val)
        {
            return HostResult.FromInt(Interop.Libc.setsockopt(fd.Fd, level, name, v, val.Length));
        }
    }

    /// <summary>getsockname(2), or getpeername(2) with <paramref name="peer"/>. Returns the address length or -errno.</summary>
    public static long Name(SafeFdHandle fd, bool peer, Span<byte> addr)
    {
        fixed (byte* a = addr)
        {
            int len = addr.Length;
            long r = HostResult.FromInt(peer ? Interop.Libc.getpeername(fd.Fd, a, &len) : Interop.Libc.getsockname(fd.Fd, a, &len));
            return r < 0 ? r : len;
        }
    }

    /// <summary>FIONREAD of a host socket.</summary>
    public static long Available(SafeFdHandle fd)
    {
        int n = 0;
        long r = HostResult.FromInt(Interop.Libc.ioctl(fd.Fd, 0x541B, &n));
        return r < 0 ? r : n;
    }

    /// <summary>The poll(2) events of one fd now.</summary>
    public static int PollNow(SafeFdHandle fd, int events)
    {
        Span<HostPoll.PollFd> p = [new HostPoll.PollFd { Fd = fd.Fd, Events = (short)events }];
        return HostPoll.Poll(p, 0) > 0 ? (ushort)p[0].Revents : 0;
    }

    public static SafeFdHandle? EpollCreate(out long error)
    {
        long r = HostResult.FromInt(Interop.Libc.epoll_create1(SOCK_CLOEXEC));
        error = r < 0 ? r : 0;
        return r < 0 ? null : new SafeFdHandle((int)r);
    }

    /// <summary>Watches <paramref name="fd"/> edge-triggered for every change; <paramref name="data"/> comes back with its events.</summary>
    public static long EpollAdd(SafeFdHandle ep, int fd, ulong data)
    {
        var ev = new EpollEvent { Events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, Data = data };
        return HostResult.FromInt(Interop.Libc.epoll_ctl(ep.Fd, EPOLL_CTL_ADD, fd, &ev));
    }

    public static long EpollRemove(SafeFdHandle ep, int fd)
    {
        var ev = default(EpollEvent);
        return HostResult.FromInt(Interop.Libc.epoll_ctl(ep.Fd, EPOLL_CTL_DEL, fd, &ev));
    }

    /// <summary>epoll_wait(2); returns the number of events or -errno.</summary>
    public static long EpollWait(SafeFdHandle ep, Span<EpollEvent> events, int timeoutMs)
    {
        fixed (EpollEvent* e = events)
        {
            return HostResult.FromInt(Interop.Libc.epoll_wait(ep.Fd, e, events.Length, timeoutMs));
        }
    }
}
