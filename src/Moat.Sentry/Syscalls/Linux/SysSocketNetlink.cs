using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>The socket calls of the minimal NETLINK_ROUTE and NETLINK_GENERIC sockets (Net/NetlinkSocket.cs).</summary>
internal static partial class SysSocket
{
    private static long NetlinkSocketCall(Task t, int type, int protocol)
    {
        int kind = type & SOCK_TYPE_MASK;
        if ((type & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (kind is not (3 or InetSocket.SOCK_DGRAM))
        {
            return -Errno.ESOCKTNOSUPPORT.Value;
        }

        if (protocol is not (NetlinkSocket.NETLINK_ROUTE or GenericNetlink.NETLINK_GENERIC))
        {
            return -Errno.EPROTONOSUPPORT.Value;
        }

        var s = new NetlinkSocket(kind, type, protocol);
        int fd = t.Fds.Add(s, (type & SOCK_CLOEXEC) != 0, 0, Limit(t));
        s.DecRef();
        return fd;
    }

    // The netlink socket behind fd, with a reference the caller drops; null (and no reference) for anything else.
    private static NetlinkSocket? Netlink(Task t, int fd)
    {
        FileDescription? f = t.Fds.Get(fd);
        if (f is NetlinkSocket s)
        {
            return s;
        }

        f?.DecRef();
        return null;
    }

    // Serves a socket call on a netlink socket; false when fd is not one.
    private static bool TryNetlink(Task t, in SyscallArgs a, int nr, out long result)
    {
        result = 0;
        NetlinkSocket? s = Netlink(t, a.Int(0));
        if (s == null)
        {
            return false;
        }

        try
        {
            result = nr switch
            {
                0 => NetlinkBind(t, s, a.Pointer(1), a.Int(2)),
                1 => NetlinkName(t, s, kernel: false, a.Pointer(1), a.Pointer(2)),
                2 => s.Send(t, IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount))),
                3 => NetlinkRecvfrom(t, s, a),
                4 => NetlinkMsg(t, s, a.Pointer(1), a.Int(2), send: true),
                5 => NetlinkMsg(t, s, a.Pointer(1), a.Int(2), send: false),
                6 => NetlinkSetsockopt(t, s, a),
                _ => NetlinkGetsockopt(t, s, a),
            };
            return true;
        }
        finally
        {
            s.DecRef();
        }
    }

    private static long NetlinkBind(Task t, NetlinkSocket s, ulong addr, int len)
    {
        if (len < 0 || len > MaxSockaddr)
        {
            return -Errno.EINVAL.Value;
        }

        Span<byte> b = stackalloc byte[MaxSockaddr];
        return t.MM.CopyIn(addr, b[..len]) < 0 ? -Errno.EFAULT.Value : s.Bind(t, b[..len]);
    }

    private static long NetlinkName(Task t, NetlinkSocket s, bool kernel, ulong addr, ulong lenAddr)
    {
        Span<byte> b = stackalloc byte[NetlinkSocket.SockaddrNlSize];
        return WriteAddress(t, addr, lenAddr, b[..s.Name(kernel, b)]);
    }

    private static long NetlinkRecvfrom(Task t, NetlinkSocket s, in SyscallArgs a)
    {
        long r = s.Receive(t, IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount)), a.Int(3), out _);
        if (r >= 0 && a.Pointer(4) != 0)
        {
            long w = NetlinkName(t, s, kernel: true, a.Pointer(4), a.Pointer(5));
            if (w < 0)
            {
                return w;
            }
        }

        return r;
    }

    private static long NetlinkMsg(Task t, NetlinkSocket s, ulong msgAddr, int flags, bool send)
    {
        Span<ulong> m = stackalloc ulong[7];
        if (t.MM.CopyIn(msgAddr, MemoryMarshal.AsBytes(m)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = ReadPairs(t, m[2], m[3], out IoSequence bufs);
        if (r < 0)
        {
            return r;
        }

        if (send)
        {
            return s.Send(t, bufs);
        }

        r = s.Receive(t, bufs, flags & ~MSG_CMSG_CLOEXEC, out int msgFlags);
        if (r < 0)
        {
            return r;
        }

        if (m[0] != 0)
        {
            Span<byte> name = stackalloc byte[NetlinkSocket.SockaddrNlSize];
            int n = s.Name(kernel: true, name);
            int userLen = (int)(uint)m[1];
            if (userLen < 0)
            {
                return -Errno.EINVAL.Value;
            }

            if (t.MM.CopyOut(m[0], name[..Math.Min(userLen, n)]) < 0 || t.MM.CopyOut(msgAddr + 8, n) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        return t.MM.CopyOut(msgAddr + 40, 0UL) < 0 || t.MM.CopyOut(msgAddr + 48, msgFlags) < 0 ? -Errno.EFAULT.Value : r;
    }

    // Buffer sizes and the like are accepted; the receive timeout is kept.
    private static long NetlinkSetsockopt(Task t, NetlinkSocket s, in SyscallArgs a)
    {
        int level = a.Int(1);
        int name = a.Int(2);
        if (level == SOL_SOCKET && name is SO_RCVTIMEO_OLD or SO_RCVTIMEO_NEW)
        {
            long r = ReadTimeout(t, a.Pointer(3), a.Int(4), out long us);
            if (r == 0)
            {
                s.ReceiveTimeoutUs = us;
            }

            return r;
        }

        if (level == SOL_SOCKET && name is SO_SNDBUF or SO_RCVBUF or SO_SNDBUFFORCE or SO_RCVBUFFORCE or SO_PASSCRED)
        {
            return a.Int(4) < 4 ? -Errno.EINVAL.Value : 0;
        }

        // SOL_NETLINK options (NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, ...) change nothing for these answers.
        return level == 270 ? 0 : -Errno.ENOPROTOOPT.Value;
    }

    private static long NetlinkGetsockopt(Task t, NetlinkSocket s, in SyscallArgs a)
    {
        int level = a.Int(1);
        int name = a.Int(2);
        if (t.MM.CopyIn(a.Pointer(4), out int len) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (len < 0)
        {
            return -Errno.EINVAL.Value;
        }

        int? v = level != SOL_SOCKET ? null : name switch
        {
            SO_TYPE => s.Type,
            SO_DOMAIN => NetlinkSocket.AF_NETLINK,
            SO_PROTOCOL => s.Protocol,
            SO_SNDBUF or SO_RCVBUF => UnixSocket.DefaultBuffer,
            SO_ERROR => 0,
            _ => null,
        };
        if (v == null)
        {
            return -Errno.ENOPROTOOPT.Value;
        }

        Span<byte> b = stackalloc byte[4];
        MemoryMarshal.Write(b, v.Value);
        int n = Math.Min(len, 4);
        return t.MM.CopyOut(a.Pointer(3), b[..n]) < 0 || t.MM.CopyOut(a.Pointer(4), n) < 0 ? -Errno.EFAULT.Value : 0;
    }
}
