using System;
using System.Buffers;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// An internet socket of <c>--network=host</c>: a host socket that the Sentry owns and operates for the
/// application (Linux's TCP/UDP semantics come from the host). The application never holds the host fd:
/// every call is checked here, its bytes copied through a Sentry buffer, and the host socket never blocks;
/// the task sleeps on the socket's wait queue, which the HostNotifier wakes.
/// </summary>
internal sealed class HostInetSocket : InetSocket
{
    private const int Chunk = 256 * 1024;
    private const int MSG_DONTROUTE = 0x4;
    private const int MSG_EOR = 0x80;
    private const int MSG_CONFIRM = 0x800;
    private const int SOL_SOCKET = 1;
    private const int SO_ACCEPTCONN = 30;
    private const int SO_ERROR = 4;

    private readonly SafeFdHandle _fd;
    private readonly HostNotifier _notifier;
    private readonly Func<bool> _readable;
    private readonly Func<bool> _writable;

    public HostInetSocket(HostNotifier notifier, SafeFdHandle fd, int family, int type, int flags, uint uid)
        : base(family, type, flags, uid)
    {
        _fd = fd;
        _notifier = notifier;
        _readable = () => (HostNet.PollNow(_fd, PollEvents.POLLIN) & (PollEvents.POLLIN | PollEvents.POLLERR | PollEvents.POLLHUP)) != 0;
        _writable = () => (HostNet.PollNow(_fd, PollEvents.POLLOUT) & (PollEvents.POLLOUT | PollEvents.POLLERR | PollEvents.POLLHUP)) != 0;
        notifier.Register(fd, Events);
    }

    /// <summary>Makes a host socket of a type and protocol the caller has checked.</summary>
    public static long Create(HostNotifier notifier, int family, int type, int flags, int protocol, uint uid, out HostInetSocket? s)
    {
        s = null;
        SafeFdHandle? fd = HostNet.Socket(family, type, protocol, out long error);
        if (fd == null)
        {
            return error;
        }

        s = new HostInetSocket(notifier, fd, family, type, flags, uid);
        return 0;
    }

    /// <summary>The host fd, for options the syscall layer has validated.</summary>
    public SafeFdHandle HostFd => _fd;

    public override bool IsListeningSocket => IntOption(SOL_SOCKET, SO_ACCEPTCONN) == 1;

    public override bool IsConnectedSocket
    {
        get
        {
            Span<byte> b = stackalloc byte[InetAddr.SockaddrIn6Size];
            return HostNet.Name(_fd, true, b) >= 0;
        }
    }

    private int IntOption(int level, int name)
    {
        Span<byte> v = stackalloc byte[4];
        return HostNet.GetOption(_fd, level, name, v, out _) < 0 ? -1 : BitConverter.ToInt32(v);
    }

    public override long Bind(InetAddr a)
    {
        Span<byte> b = stackalloc byte[InetAddr.SockaddrIn6Size];
        return HostNet.Bind(_fd, b[..a.Encode(Family, b)]);
    }

    public override long GetName(bool peer, out InetAddr a)
    {
        a = default;
        Span<byte> b = stackalloc byte[InetAddr.SockaddrIn6Size];
        long n = HostNet.Name(_fd, peer, b);
        return n < 0 ? n : InetAddr.Parse(b[..(int)n], Family, false, out a);
    }

    public override long Connect(Task t, InetAddr dst)
    {
        Span<byte> b = stackalloc byte[InetAddr.SockaddrIn6Size];
        long r = HostNet.Connect(_fd, b[..dst.Encode(Family, b)]);
        if (r != -Errno.EINPROGRESS.Value || NonBlocking)
        {
            return r;
        }

        r = new SocketDeadline(SendTimeoutUs).Wait(t, Events, _writable);
        if (r < 0)
        {
            return r == -Errno.EAGAIN.Value ? -Errno.EINPROGRESS.Value : r;
        }

        return -IntOption(SOL_SOCKET, SO_ERROR);
    }

    /// <summary>connect(AF_UNSPEC), passed to the host as it is.</summary>
    public long Disconnect()
    {
        Span<byte> unspec = stackalloc byte[16];
        unspec.Clear();
        return HostNet.Connect(_fd, unspec);
    }

    public override long Listen(int backlog) => HostNet.Listen(_fd, Math.Clamp(backlog, 0, 4096));

    public override long Accept(Task t, out InetSocket? conn)
    {
        conn = null;
        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        while (true)
        {
            SafeFdHandle? fd = HostNet.Accept(_fd, out long error);
            if (fd != null)
            {
                conn = new HostInetSocket(_notifier, fd, Family, Type, 0, Uid);
                return 0;
            }

            if (error != -Errno.EAGAIN.Value || NonBlocking)
            {
                return error;
            }

            long r = deadline.Wait(t, Events, _readable);
            if (r < 0)
            {
                return r;
            }
        }
    }

    public override long Shutdown(int how) => how is < 0 or > 2 ? -Errno.EINVAL.Value : HostNet.Shutdown(_fd, how);

    public override long Send(Task t, in IoSequence src, int flags, InetAddr? dst)
    {
        int hostFlags = flags & (MSG_OOB | MSG_DONTROUTE | MSG_EOR | MSG_MORE | MSG_CONFIRM);
        Span<byte> addr = stackalloc byte[InetAddr.SockaddrIn6Size];
        int addrLen = dst is InetAddr d ? d.Encode(Family, addr) : 0;
        ulong total = src.Total;
        int size = IsStream ? (int)Math.Min(total, Chunk) : (int)Math.Min(total, 65536);
        if (!IsStream && total > 65536)
        {
            return -Errno.EMSGSIZE.Value;
        }

        byte[] buf = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        try
        {
            var deadline = new SocketDeadline(SendTimeoutUs);
            ulong sent = 0;
            while (true)
            {
                int n = (int)Math.Min(total - sent, (ulong)size);
                if (src.CopyIn(t.MM, sent, buf.AsSpan(0, n)) < 0)
                {
                    return sent > 0 ? (long)sent : -Errno.EFAULT.Value;
                }

                long r = HostNet.Send(_fd, buf.AsSpan(0, n), hostFlags, addr[..addrLen]);
                if (r >= 0)
                {
                    sent += (ulong)r;
                    if (sent >= total || !IsStream)
                    {
                        return (long)sent;
                    }

                    continue;
                }

                if (r == -Errno.EPIPE.Value)
                {
                    return sent > 0 ? (long)sent : PipeError(t, flags);
                }

                if (r != -Errno.EAGAIN.Value || IsNonBlocking(flags))
                {
                    return sent > 0 ? (long)sent : r;
                }

                r = deadline.Wait(t, Events, _writable);
                if (r < 0)
                {
                    return sent > 0 ? (long)sent : r;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    public override long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags)
    {
        from = default;
        msgFlags = 0;
        int hostFlags = flags & (MSG_OOB | MSG_PEEK);
        if (!IsStream)
        {
            // The real length comes back, so a datagram cut short is reported as Linux does.
            hostFlags |= MSG_TRUNC;
        }

        ulong total = dst.Total;
        int size = (int)Math.Min(total, (ulong)(IsStream ? Chunk : 65536));
        bool waitAll = IsStream && (flags & MSG_WAITALL) != 0 && (flags & MSG_PEEK) == 0;
        byte[] buf = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        Span<byte> addr = stackalloc byte[InetAddr.SockaddrIn6Size];
        try
        {
            var deadline = new SocketDeadline(ReceiveTimeoutUs);
            ulong copied = 0;
            while (true)
            {
                int want = (int)Math.Min(total - copied, (ulong)size);
                long r = HostNet.Receive(_fd, buf.AsSpan(0, want), hostFlags, addr, out int addrLen);
                if (r >= 0)
                {
                    int n = (int)Math.Min(r, (long)want);
                    if ((flags & MSG_TRUNC) == 0 || !IsStream)
                    {
                        if (dst.CopyOut(t.MM, copied, buf.AsSpan(0, n)) < 0)
                        {
                            return copied > 0 ? (long)copied : -Errno.EFAULT.Value;
                        }
                    }

                    if (addrLen > 0)
                    {
                        InetAddr.Parse(addr[..Math.Min(addrLen, addr.Length)], Family, false, out from);
                    }

                    if (!IsStream)
                    {
                        msgFlags = r > want ? MSG_TRUNC : 0;
                        return (flags & MSG_TRUNC) != 0 ? r : n;
                    }

                    copied += (ulong)n;
                    if (!waitAll || r == 0 || copied >= total)
                    {
                        return (long)copied;
                    }

                    continue;
                }

                if (r != -Errno.EAGAIN.Value || IsNonBlocking(flags))
                {
                    return copied > 0 ? (long)copied : r;
                }

                r = deadline.Wait(t, Events, _readable);
                if (r < 0)
                {
                    return copied > 0 ? (long)copied : r;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    public override int Available => (int)Math.Max(0, HostNet.Available(_fd));

    public override int Readiness(int events) =>
        HostNet.PollNow(_fd, events) & (events | PollEvents.POLLHUP | PollEvents.POLLERR);

    protected override void Release()
    {
        _notifier.Unregister(_fd);
        _fd.Dispose();
        Events.Notify();
    }
}
