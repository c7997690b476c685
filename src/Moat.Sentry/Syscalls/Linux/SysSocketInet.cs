using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// The socket calls of AF_INET and AF_INET6 sockets (the netstack's, or host sockets with --network=host; Net/). Each entry point serves an
/// internet socket and hands any other fd to the unix socket code, so the table registers these.
/// </summary>
internal static partial class SysSocket
{
    private const int MaxSockaddr = 128;

    /// <summary>Implements socket(2) for every family.</summary>
    public static long NetSocket(Task t, in SyscallArgs a)
    {
        int domain = a.Int(0);
        if (domain == NetlinkSocket.AF_NETLINK)
        {
            return NetlinkSocketCall(t, a.Int(1), a.Int(2));
        }

        if (domain == StackPacketSocket.AF_PACKET && t.Kernel.Netstack is SandboxNetwork packetNet)
        {
            return PacketSocketCall(t, packetNet, a.Int(1), a.Int(2));
        }

        if (domain is not (InetAddr.AF_INET or InetAddr.AF_INET6))
        {
            return Socket(t, a);
        }

        int type = a.Int(1);
        int protocol = a.Int(2);
        if ((type & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        InetSocket s;
        uint uid = t.Credentials.EffectiveUid;
        int kind = type & SOCK_TYPE_MASK;
        if (kind == SOCK_RAW && domain == InetAddr.AF_INET && t.Kernel.Netstack is SandboxNetwork rawNet)
        {
            return RawSocketCall(t, rawNet, type, protocol);
        }

        if (t.Kernel.HostNetwork is HostNotifier host && kind is InetSocket.SOCK_STREAM or InetSocket.SOCK_DGRAM)
        {
            int expected = kind == InetSocket.SOCK_STREAM ? InetSocket.IPPROTO_TCP : InetSocket.IPPROTO_UDP;
            if (protocol != 0 && protocol != expected)
            {
                return -Errno.EPROTONOSUPPORT.Value;
            }

            long r = HostInetSocket.Create(host, domain, kind, type, expected, uid, out HostInetSocket? hs);
            if (r < 0)
            {
                return r;
            }

            s = hs!;
            int hfd = t.Fds.Add(s, (type & SOCK_CLOEXEC) != 0, 0, Limit(t));
            s.DecRef();
            return hfd;
        }

        if (kind is not (InetSocket.SOCK_STREAM or InetSocket.SOCK_DGRAM))
        {
            // SCTP-style sockets are not served (raw ones are, above, on the netstack with --net-raw).
            return -Errno.ESOCKTNOSUPPORT.Value;
        }

        if (t.Kernel.Netstack is not SandboxNetwork net)
        {
            // A kernel without a network (unit tests build one): no internet sockets, as Linux without CONFIG_INET.
            return -Errno.EAFNOSUPPORT.Value;
        }

        switch (kind)
        {
            case InetSocket.SOCK_STREAM:
                if (protocol is not (0 or InetSocket.IPPROTO_TCP))
                {
                    return -Errno.EPROTONOSUPPORT.Value;
                }

                s = new StackTcpSocket(net, net.Stack.CreateTcp(domain == InetAddr.AF_INET6), type, uid);
                break;
            case InetSocket.SOCK_DGRAM when protocol == StackPingSocket.IPPROTO_ICMP && domain == InetAddr.AF_INET:
                s = new StackPingSocket(net.Stack.CreatePing(), type, uid);
                break;
            default:
                // No UDP-Lite (IPPROTO_UDPLITE): EPROTONOSUPPORT, as Linux since 7.1 retired it and as gVisor.
                if (protocol is not (0 or InetSocket.IPPROTO_UDP))
                {
                    return -Errno.EPROTONOSUPPORT.Value;
                }

                s = new StackUdpSocket(net, net.Stack.CreateUdp(domain == InetAddr.AF_INET6), type, uid);
                break;
        }

        int fd = t.Fds.Add(s, (type & SOCK_CLOEXEC) != 0, 0, Limit(t));
        s.DecRef();
        return fd;
    }

    /// <summary>Implements socketpair(2): internet sockets have none (EOPNOTSUPP, as Linux).</summary>
    public static long NetSocketpair(Task t, in SyscallArgs a) =>
        a.Int(0) is InetAddr.AF_INET or InetAddr.AF_INET6 ? -Errno.EOPNOTSUPP.Value : Socketpair(t, a);

    // The internet socket behind fd, with a reference the caller drops; null (and no reference) for anything else.
    private static InetSocket? Inet(Task t, int fd)
    {
        FileDescription? f = t.Fds.Get(fd);
        if (f is InetSocket s)
        {
            return s;
        }

        f?.DecRef();
        return null;
    }

    // Reads a sockaddr_in / sockaddr_in6 for a socket. Returns 0 or -errno.
    private static long ReadInet(Task t, InetSocket s, ulong addr, int len, bool unspecIsAny, out InetAddr a)
    {
        a = default;
        if (len < 0 || len > MaxSockaddr)
        {
            return -Errno.EINVAL.Value;
        }

        Span<byte> b = stackalloc byte[MaxSockaddr];
        b = b[..len];
        if (len > 0 && t.MM.CopyIn(addr, b) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return InetAddr.Parse(b, s.Family, unspecIsAny, out a);
    }

    private static long WriteInet(Task t, InetSocket s, InetAddr a, ulong addr, ulong lenAddr)
    {
        Span<byte> b = stackalloc byte[InetAddr.SockaddrIn6Size];
        int n = s.EncodeAddress(a, b);
        return WriteAddress(t, addr, lenAddr, b[..n]);
    }

    /// <summary>Implements bind(2).</summary>
    public static long NetBind(Task t, in SyscallArgs a)
    {
        if (TryNetlink(t, a, 0, out long nl))
        {
            return nl;
        }

        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 0, out long packet) ? packet : Bind(t, a);
        }

        try
        {
            long r = ReadInet(t, s, a.Pointer(1), a.Int(2), unspecIsAny: true, out InetAddr addr);
            if (r < 0)
            {
                return r;
            }

            return s.Bind(addr);
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements listen(2).</summary>
    public static long NetListen(Task t, in SyscallArgs a)
    {
        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 8, out long packet) ? packet : Listen(t, a);
        }

        try
        {
            return s.Listen(a.Int(1));
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements connect(2).</summary>
    public static long NetConnect(Task t, in SyscallArgs a)
    {
        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 8, out long packet) ? packet : Connect(t, a);
        }

        try
        {
            int len = a.Int(2);
            if (len >= 2 && t.MM.CopyIn(a.Pointer(1), out ushort family) == 0 && family == AF_UNSPEC)
            {
                // AF_UNSPEC dissolves a datagram association; an unconnected stream socket has nothing to drop.
                return s switch
                {
                    StackDatagramSocket d => d.Disconnect(),
                    HostInetSocket h => h.Disconnect(),
                    _ => s.IsConnectedSocket || s.IsListeningSocket ? -Errno.EOPNOTSUPP.Value : 0,
                };
            }

            long r = ReadInet(t, s, a.Pointer(1), len, unspecIsAny: false, out InetAddr dst);
            return r < 0 ? r : s.Connect(t, dst);
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements accept(2).</summary>
    public static long NetAccept(Task t, in SyscallArgs a) => NetAccept4(t, new SyscallArgs(a[0], a[1], a[2], 0));

    /// <summary>Implements accept4(2).</summary>
    public static long NetAccept4(Task t, in SyscallArgs a)
    {
        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 8, out long packet) ? packet : Accept4(t, a);
        }

        try
        {
            int flags = a.Int(3);
            if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0)
            {
                return -Errno.EINVAL.Value;
            }

            long r = s.Accept(t, out InetSocket? conn);
            if (r < 0)
            {
                return r;
            }

            if ((flags & SOCK_NONBLOCK) != 0)
            {
                conn!.SetStatusFlags(OpenFlags.O_NONBLOCK);
            }

            int fd = t.Fds.Add(conn!, (flags & SOCK_CLOEXEC) != 0, 0, Limit(t));
            conn!.DecRef();
            if (fd >= 0 && conn.GetName(true, out InetAddr peer) == 0 && WriteInet(t, s, peer, a.Pointer(1), a.Pointer(2)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return fd;
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements getsockname(2).</summary>
    public static long NetGetsockname(Task t, in SyscallArgs a)
    {
        if (TryNetlink(t, a, 1, out long nl))
        {
            return nl;
        }

        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 1, out long packet) ? packet : Getsockname(t, a);
        }

        try
        {
            long r = s.GetName(false, out InetAddr name);
            return r < 0 ? r : WriteInet(t, s, name, a.Pointer(1), a.Pointer(2));
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements getpeername(2).</summary>
    public static long NetGetpeername(Task t, in SyscallArgs a)
    {
        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 8, out long packet) ? packet : Getpeername(t, a);
        }

        try
        {
            long r = s.GetName(true, out InetAddr name);
            return r < 0 ? r : WriteInet(t, s, name, a.Pointer(1), a.Pointer(2));
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements shutdown(2).</summary>
    public static long NetShutdown(Task t, in SyscallArgs a)
    {
        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 8, out long packet) ? packet : Shutdown(t, a);
        }

        try
        {
            return s.Shutdown(a.Int(1));
        }
        finally
        {
            s.DecRef();
        }
    }
}
