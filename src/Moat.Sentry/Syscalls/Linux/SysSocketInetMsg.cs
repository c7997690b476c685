using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>The data calls of internet sockets. Control messages are not produced (no IP_PKTINFO and such yet).</summary>
internal static partial class SysSocket
{
    /// <summary>Implements sendto(2) (and send).</summary>
    public static long NetSendto(Task t, in SyscallArgs a)
    {
        if (TryNetlink(t, a, 2, out long nl))
        {
            return nl;
        }

        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 2, out long packet) ? packet : Sendto(t, a);
        }

        try
        {
            var src = IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount));
            return InetSend(t, s, src, a.Int(3), a.Pointer(4), a.Int(5));
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements recvfrom(2) (and recv).</summary>
    public static long NetRecvfrom(Task t, in SyscallArgs a)
    {
        if (TryNetlink(t, a, 3, out long nl))
        {
            return nl;
        }

        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 3, out long packet) ? packet : Recvfrom(t, a);
        }

        try
        {
            var dst = IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount));
            long r = s.Receive(t, dst, a.Int(3) & ~MSG_CMSG_CLOEXEC, out InetAddr from, out _);
            ulong addr = a.Pointer(4);
            if (r >= 0 && addr != 0)
            {
                // A stream socket reports no address (the length becomes 0), as Linux's TCP.
                long w = s.IsStream ? WriteAddress(t, addr, a.Pointer(5), []) : WriteInet(t, s, from, addr, a.Pointer(5));
                if (w < 0)
                {
                    return w;
                }
            }

            return r;
        }
        finally
        {
            s.DecRef();
        }
    }

    private static long InetSend(Task t, InetSocket s, in IoSequence src, int flags, ulong dest, int destLen)
    {
        InetAddr? to = null;
        if (dest != 0 && destLen != 0 && !s.IsStream)
        {
            long r;
            InetAddr d = default;
            if (s.Family == InetAddr.AF_INET6 && destLen >= 2 && t.MM.CopyIn(dest, out ushort af) == 0 && af == InetAddr.AF_INET)
            {
                // An IPv6 datagram socket also sends to a sockaddr_in (as the mapped address), unless IPV6_V6ONLY.
                r = s.V6Only ? -Errno.EAFNOSUPPORT.Value : destLen < InetAddr.SockaddrInSize ? -Errno.EINVAL.Value : ReadV4As6(t, dest, out d);
            }
            else
            {
                r = ReadInet(t, s, dest, destLen, unspecIsAny: true, out d);
            }

            if (r < 0)
            {
                return r;
            }

            to = d;
        }
        else if (destLen < 0)
        {
            return -Errno.EINVAL.Value;
        }

        return s.Send(t, src, flags, to);
    }

    private static long ReadV4As6(Task t, ulong addr, out InetAddr a)
    {
        Span<byte> b = stackalloc byte[InetAddr.SockaddrInSize];
        a = default;
        return t.MM.CopyIn(addr, b) < 0 ? -Errno.EFAULT.Value : InetAddr.Parse(b, InetAddr.AF_INET, false, out a);
    }

    /// <summary>Implements sendmsg(2).</summary>
    public static long NetSendmsg(Task t, in SyscallArgs a)
    {
        if (TryNetlink(t, a, 4, out long nl))
        {
            return nl;
        }

        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 4, out long packet) ? packet : Sendmsg(t, a);
        }

        try
        {
            return InetSendMsg(t, s, a.Pointer(1), a.Int(2));
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements recvmsg(2).</summary>
    public static long NetRecvmsg(Task t, in SyscallArgs a)
    {
        if (TryNetlink(t, a, 5, out long nl))
        {
            return nl;
        }

        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 5, out long packet) ? packet : Recvmsg(t, a);
        }

        try
        {
            return InetRecvMsg(t, s, a.Pointer(1), a.Int(2));
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements sendmmsg(2).</summary>
    public static long NetSendmmsg(Task t, in SyscallArgs a)
    {
        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 9, out long packet) ? packet : Sendmmsg(t, a);
        }

        try
        {
            int flags = a.Int(3);
            return ForEachMessage(t, s, flags, false, a.Pointer(1), Math.Min((uint)a.Int(2), UioMaxIov), long.MaxValue, static (t, s, m, f) => InetSendMsg(t, s, m, f));
        }
        finally
        {
            s.DecRef();
        }
    }

    /// <summary>Implements recvmmsg(2); the timeout is checked between messages, as in Linux.</summary>
    public static long NetRecvmmsg(Task t, in SyscallArgs a)
    {
        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 10, out long packet) ? packet : Recvmmsg(t, a);
        }

        try
        {
            long r = ReadMmsgTimeout(t, a.Pointer(4), out long deadline);
            if (r < 0)
            {
                return r;
            }

            int flags = a.Int(3);
            return ForEachMessage(t, s, flags, true, a.Pointer(1), Math.Min((uint)a.Int(2), UioMaxIov), deadline, static (t, s, m, f) => InetRecvMsg(t, s, m, f));
        }
        finally
        {
            s.DecRef();
        }
    }

    // Reads a msghdr's iovec array as (base, length) pairs, lengths capped at MAX_RW_COUNT in total (as
    // readv/writev); one buffer, the common case, without an allocation. Every socket type's msghdr reads it.
    private static long ReadPairs(Task t, ulong addr, ulong count, out IoSequence bufs)
    {
        bufs = IoSequence.App(0, 0);
        if (count > UioMaxIov)
        {
            return -Errno.EMSGSIZE.Value;
        }

        if (count == 0)
        {
            return 0;
        }

        if (count == 1)
        {
            Span<ulong> one = stackalloc ulong[2];
            if (t.MM.CopyIn(addr, MemoryMarshal.AsBytes(one)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if ((long)one[1] < 0)
            {
                return -Errno.EINVAL.Value;
            }

            bufs = IoSequence.App(one[0], Math.Min(one[1], SysReadWrite.MaxRwCount));
            return 0;
        }

        var pairs = new ulong[count * 2];
        if (t.MM.CopyIn(addr, MemoryMarshal.AsBytes(pairs.AsSpan())) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        ulong total = 0;
        for (ulong i = 0; i < count; i++)
        {
            ulong len = pairs[(i * 2) + 1];
            if ((long)len < 0)
            {
                return -Errno.EINVAL.Value;
            }

            len = Math.Min(len, SysReadWrite.MaxRwCount - total);
            pairs[(i * 2) + 1] = len;
            total += len;
        }

        bufs = IoSequence.Vector(pairs);
        return 0;
    }

    private static long InetSendMsg(Task t, InetSocket s, ulong msgAddr, int flags)
    {
        // struct msghdr: name, namelen(+pad), iov, iovlen, control, controllen, flags.
        Span<ulong> m = stackalloc ulong[7];
        if (t.MM.CopyIn(msgAddr, MemoryMarshal.AsBytes(m)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (m[5] > int.MaxValue)
        {
            return -Errno.ENOBUFS.Value;
        }

        long r = ReadPairs(t, m[2], m[3], out IoSequence src);
        if (r < 0)
        {
            return r;
        }

        int hops = -1, tclass = -1;
        if (m[5] >= CmsgHeader && m[4] != 0)
        {
            r = ReadInetControl(t, s, m[4], (int)m[5], ref hops, ref tclass);
            if (r < 0)
            {
                return r;
            }
        }

        if ((hops >= 0 || tclass >= 0) && s is StackUdpSocket u)
        {
            InetAddr? to = null;
            if (m[0] != 0 && (int)(uint)m[1] != 0)
            {
                r = ReadInet(t, s, m[0], (int)(uint)m[1], unspecIsAny: true, out InetAddr d);
                if (r < 0)
                {
                    return r;
                }

                to = d;
            }

            return u.Send(t, src, flags, to, hops, tclass);
        }

        return InetSend(t, s, src, flags, m[0], (int)(uint)m[1]);
    }

    // The control messages of a send on an internet socket. A datagram socket takes IP_TTL/IP_TOS and
    // IPV6_HOPLIMIT/IPV6_TCLASS (each an int, -1 for the socket's own); anything else is EINVAL, as
    // ip_cmsg_send and ip6_datagram_send_ctl answer. A stream socket ignores all but SOL_SOCKET ones, which it
    // refuses (none of them is supported here).
    private static long ReadInetControl(Task t, InetSocket s, ulong addr, int len, ref int hops, ref int tclass)
    {
        if (len > MaxControl)
        {
            return -Errno.ENOBUFS.Value;
        }

        byte[] buf = new byte[len];
        if (t.MM.CopyIn(addr, buf) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        var messages = new ControlMessageReader(buf);
        long bad;
        while (messages.Next(out int level, out int type, out ReadOnlySpan<byte> data, out bad))
        {
            if (level == SOL_SOCKET)
            {
                return -Errno.EINVAL.Value;
            }

            if (!s.IsStream)
            {
                bool v6 = level == SOL_IPV6 && s.Family == InetAddr.AF_INET6;
                bool v4 = level == SOL_IP;
                bool isHops = (v6 && type == 52) || (v4 && type == IP_TTL);
                bool isClass = (v6 && type == 67) || (v4 && type == 1);
                if (!isHops && !isClass)
                {
                    return -Errno.EINVAL.Value;
                }

                if (data.Length != 4 && !(v4 && isClass && data.Length == 1))
                {
                    return -Errno.EINVAL.Value;
                }

                int v = data.Length == 1 ? data[0] : BitConverter.ToInt32(data);
                if (v < -1 || v > 255 || (v4 && isHops && v == 0))
                {
                    return -Errno.EINVAL.Value;
                }

                if (isHops)
                {
                    hops = v;
                }
                else
                {
                    tclass = v;
                }
            }
        }

        return bad;
    }

    private static long InetRecvMsg(Task t, InetSocket s, ulong msgAddr, int flags)
    {
        Span<ulong> m = stackalloc ulong[7];
        if (t.MM.CopyIn(msgAddr, MemoryMarshal.AsBytes(m)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = ReadPairs(t, m[2], m[3], out IoSequence dst);
        if (r < 0)
        {
            return r;
        }

        int hops = 0, tclass = 0;
        long stampNs = 0;
        long r2 = s is StackUdpSocket udp
            ? udp.Receive(t, dst, flags & ~MSG_CMSG_CLOEXEC, out InetAddr from, out int msgFlags, out hops, out tclass, out stampNs)
            : s.Receive(t, dst, flags & ~MSG_CMSG_CLOEXEC, out from, out msgFlags);
        r = r2;
        if (r < 0)
        {
            return r;
        }

        ulong controlUsed = 0;
        if (s is StackUdpSocket)
        {
            int used = WriteInetControl(t, s, m[4], m[4] == 0 ? 0 : (int)Math.Min(m[5], int.MaxValue), hops, tclass, stampNs, ref msgFlags);
            if (used < 0)
            {
                return used;
            }

            controlUsed = (ulong)used;
        }

        if (m[0] != 0)
        {
            int userLen = (int)(uint)m[1];
            if (userLen < 0)
            {
                return -Errno.EINVAL.Value;
            }

            Span<byte> name = stackalloc byte[InetAddr.SockaddrIn6Size];
            int n = s.IsStream ? 0 : s.EncodeAddress(from, name);
            if (t.MM.CopyOut(m[0], name[..Math.Min(userLen, n)]) < 0 || t.MM.CopyOut(msgAddr + 8, n) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        if (t.MM.CopyOut(msgAddr + 40, controlUsed) < 0 || t.MM.CopyOut(msgAddr + 48, msgFlags | (flags & MSG_CMSG_CLOEXEC)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return r;
    }

    // The control messages a received datagram carries when asked for: SCM_TIMESTAMP (a timeval) or
    // SCM_TIMESTAMPNS (a timespec) first, as sock_recv_timestamp puts them, then IPV6_HOPLIMIT and IPV6_TCLASS
    // (an int each) on an IPv6 socket, IP_TTL (int) and IP_TOS (one byte) on an IPv4 one; written as Linux's
    // put_cmsg does (cut short with MSG_CTRUNC when the buffer ends). Returns the bytes of control buffer used
    // or -EFAULT.
    private static int WriteInetControl(Task t, InetSocket s, ulong addr, int len, int hops, int tclass, long stampNs, ref int flags)
    {
        const int SCM_TIMESTAMP = 29;
        const int SCM_TIMESTAMPNS = 35;
        bool v6 = s.Family == InetAddr.AF_INET6;
        Span<(int Level, int Type, long Value, long Value2, int Size)> items = stackalloc (int, int, long, long, int)[3];
        int count = 0;
        if (s.TimestampMode != 0)
        {
            long sec = stampNs / 1_000_000_000, frac = stampNs % 1_000_000_000;
            items[count++] = s.TimestampMode == 1 ? (SOL_SOCKET, SCM_TIMESTAMP, sec, frac / 1000, 16) : (SOL_SOCKET, SCM_TIMESTAMPNS, sec, frac, 16);
        }

        if (s.Options.GetValueOrDefault(v6 ? Key(SOL_IPV6, 51) : Key(SOL_IP, 12)) != 0)
        {
            items[count++] = v6 ? (SOL_IPV6, 52, hops, 0, 4) : (SOL_IP, IP_TTL, hops, 0, 4);
        }

        if (s.Options.GetValueOrDefault(v6 ? Key(SOL_IPV6, 66) : Key(SOL_IP, 13)) != 0)
        {
            items[count++] = v6 ? (SOL_IPV6, 67, tclass, 0, 4) : (SOL_IP, 1, tclass, 0, 1);
        }

        int used = 0;
        Span<byte> cm = stackalloc byte[CmsgHeader + 16];
        for (int i = 0; i < count; i++)
        {
            (int level, int type, long value, long value2, int size) = items[i];
            if (addr == 0 || len - used < CmsgHeader)
            {
                flags |= UnixSocket.MSG_CTRUNC;
                break;
            }

            int full = CmsgHeader + size;
            int clen = full;
            if (len - used < full)
            {
                flags |= UnixSocket.MSG_CTRUNC;
                clen = len - used;
            }

            cm.Clear();
            MemoryMarshal.Write(cm, (ulong)clen);
            MemoryMarshal.Write(cm[8..], level);
            MemoryMarshal.Write(cm[12..], type);
            if (size == 1)
            {
                cm[CmsgHeader] = (byte)value;
            }
            else if (size == 16)
            {
                MemoryMarshal.Write(cm[CmsgHeader..], value);
                MemoryMarshal.Write(cm[(CmsgHeader + 8)..], value2);
            }
            else
            {
                MemoryMarshal.Write(cm[CmsgHeader..], (int)value);
            }

            if (t.MM.CopyOut(addr + (ulong)used, cm[..clen]) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            used += Math.Min(CmsgAlign(full), len - used);
        }

        return used;
    }
}
