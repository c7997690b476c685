using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// The socket calls of AF_PACKET sockets (Net/StackPacketSocket.cs), as af_packet.c answers them: bind and
/// getsockname with a sockaddr_ll, frames sent and received with their sockaddr_ll, SOL_SOCKET options, and of
/// SOL_PACKET only what a socket without rings has (PACKET_STATISTICS, flags that read 0). Setting any
/// SOL_PACKET option (rings, fanout, membership, auxdata) answers ENOPROTOOPT, as gVisor does: PACKET_MMAP
/// rings are not served. connect, listen, accept, getpeername and shutdown answer EOPNOTSUPP as Linux's.
/// </summary>
internal static partial class SysSocket
{
    private const int SOL_PACKET = 263;
    private const int PACKET_STATISTICS = 6;
    private const int MSG_ERRQUEUE = 0x2000;

    // Serves a socket call on a packet socket; false when fd is not one. nr: 0 bind, 1 getsockname, 2 sendto,
    // 3 recvfrom, 4 sendmsg, 5 recvmsg, 6 setsockopt, 7 getsockopt, 8 what packet sockets lack, 9 sendmmsg, 10 recvmmsg.
    private static bool TryPacket(Task t, in SyscallArgs a, int nr, out long result)
    {
        result = 0;
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f is not StackPacketSocket s)
        {
            f?.DecRef();
            return false;
        }

        try
        {
            result = nr switch
            {
                0 => PacketBind(t, s, a.Pointer(1), a.Int(2)),
                1 => PacketName(t, s, a.Pointer(1), a.Pointer(2)),
                2 => PacketSendto(t, s, a),
                3 => PacketRecvfrom(t, s, a),
                4 => PacketSendMsg(t, s, a.Pointer(1), a.Int(2)),
                5 => PacketRecvMsg(t, s, a.Pointer(1), a.Int(2)),
                6 => PacketSetsockopt(t, s, a.Int(1), a.Int(2), a.Pointer(3), a.Int(4)),
                7 => PacketGetsockopt(t, s, a.Int(1), a.Int(2), a.Pointer(3), a.Pointer(4)),
                9 => ForEachMessage(t, s, a.Int(3), false, a.Pointer(1), Math.Min((uint)a.Int(2), UioMaxIov), long.MaxValue, static (t, s, m, fl) => PacketSendMsg(t, s, m, fl)),
                10 => PacketRecvmmsg(t, s, a),
                _ => -Errno.EOPNOTSUPP.Value,
            };
            return true;
        }
        finally
        {
            s.DecRef();
        }
    }

    private static long PacketRecvmmsg(Task t, StackPacketSocket s, in SyscallArgs a)
    {
        long r = ReadMmsgTimeout(t, a.Pointer(4), out long deadline);
        return r < 0 ? r : ForEachMessage(t, s, a.Int(3), true, a.Pointer(1), Math.Min((uint)a.Int(2), UioMaxIov), deadline, static (t, s, m, fl) => PacketRecvMsg(t, s, m, fl));
    }

    private static long PacketBind(Task t, StackPacketSocket s, ulong addr, int len)
    {
        Span<byte> b = stackalloc byte[StackPacketSocket.SockaddrLlSize];
        if (len < StackPacketSocket.SockaddrLlSize)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyIn(addr, b) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(b) != StackPacketSocket.AF_PACKET)
        {
            return -Errno.EINVAL.Value;
        }

        return -s.Endpoint.Bind(BinaryPrimitives.ReadInt32LittleEndian(b[4..]), BinaryPrimitives.ReadUInt16BigEndian(b[2..])).Value;
    }

    private static long PacketName(Task t, StackPacketSocket s, ulong addr, ulong lenAddr)
    {
        Span<byte> b = stackalloc byte[StackPacketSocket.SockaddrLlSize];
        int n = s.LocalName(b);
        return WriteAddress(t, addr, lenAddr, b[..n]);
    }

    // The destination of a send: the sockaddr_ll given, else the bound interface and protocol. Returns 0 or -errno.
    private static long PacketDestination(Task t, StackPacketSocket s, ulong addr, int len, bool given, out int ifIndex, out ushort protocol, out MacAddress dst)
    {
        ifIndex = 0;
        protocol = 0;
        dst = MacAddress.Zero;
        if (!given)
        {
            ifIndex = s.Endpoint.IfIndex;
            protocol = s.Endpoint.Protocol;
            return 0;
        }

        if (len is < 0 or > MaxSockaddr)
        {
            return -Errno.EINVAL.Value;
        }

        Span<byte> b = stackalloc byte[StackPacketSocket.SockaddrLlSize];
        if (len < StackPacketSocket.SockaddrLlSize)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyIn(addr, b) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (len < StackPacketSocket.SllAddrOffset + b[11])
        {
            return -Errno.EINVAL.Value;
        }

        protocol = BinaryPrimitives.ReadUInt16BigEndian(b[2..]);
        ifIndex = BinaryPrimitives.ReadInt32LittleEndian(b[4..]);
        dst = MacAddress.Read(b[StackPacketSocket.SllAddrOffset..]);
        return 0;
    }

    private static long PacketSendto(Task t, StackPacketSocket s, in SyscallArgs a)
    {
        long r = PacketDestination(t, s, a.Pointer(4), a.Int(5), a.Pointer(4) != 0, out int ifIndex, out ushort protocol, out MacAddress dst);
        if (r < 0)
        {
            return r;
        }

        var src = IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount));
        return s.SendFrom(t, src, ifIndex, protocol, dst);
    }

    private static long PacketSendMsg(Task t, StackPacketSocket s, ulong msgAddr, int flags)
    {
        Span<ulong> m = stackalloc ulong[7];
        if (t.MM.CopyIn(msgAddr, MemoryMarshal.AsBytes(m)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = ReadPairs(t, m[2], m[3], out IoSequence src);
        if (r < 0)
        {
            return r;
        }

        int nameLen = (int)(uint)m[1];
        r = PacketDestination(t, s, m[0], nameLen, m[0] != 0 && nameLen != 0, out int ifIndex, out ushort protocol, out MacAddress dst);
        return r < 0 ? r : s.SendFrom(t, src, ifIndex, protocol, dst);
    }

    private static long PacketReceiveFlags(int flags) =>
        (flags & ~(InetSocket.MSG_PEEK | InetSocket.MSG_DONTWAIT | InetSocket.MSG_TRUNC | MSG_ERRQUEUE)) != 0 ? -Errno.EINVAL.Value
        : (flags & MSG_ERRQUEUE) != 0 ? -Errno.EAGAIN.Value // nothing ever goes to a packet socket's error queue here
        : 0;

    private static long PacketRecvfrom(Task t, StackPacketSocket s, in SyscallArgs a)
    {
        int flags = a.Int(3) & ~MSG_CMSG_CLOEXEC;
        long r = PacketReceiveFlags(flags);
        if (r < 0)
        {
            return r;
        }

        var dst = IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount));
        r = s.Receive(t, dst, flags, out PacketSource from, out _);
        if (r >= 0 && a.Pointer(4) != 0)
        {
            Span<byte> name = stackalloc byte[StackPacketSocket.SockaddrLlSize];
            StackPacketSocket.EncodeAddress(name, from);
            long w = WriteAddress(t, a.Pointer(4), a.Pointer(5), name);
            if (w < 0)
            {
                return w;
            }
        }

        return r;
    }

    private static long PacketRecvMsg(Task t, StackPacketSocket s, ulong msgAddr, int flags)
    {
        long r = PacketReceiveFlags(flags & ~MSG_CMSG_CLOEXEC);
        if (r < 0)
        {
            return r;
        }

        Span<ulong> m = stackalloc ulong[7];
        if (t.MM.CopyIn(msgAddr, MemoryMarshal.AsBytes(m)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        r = ReadPairs(t, m[2], m[3], out IoSequence dst);
        if (r < 0)
        {
            return r;
        }

        r = s.Receive(t, dst, flags & ~MSG_CMSG_CLOEXEC, out PacketSource from, out int msgFlags);
        if (r < 0)
        {
            return r;
        }

        if (m[0] != 0)
        {
            int userLen = (int)(uint)m[1];
            if (userLen < 0)
            {
                return -Errno.EINVAL.Value;
            }

            Span<byte> name = stackalloc byte[StackPacketSocket.SockaddrLlSize];
            StackPacketSocket.EncodeAddress(name, from);
            if (t.MM.CopyOut(m[0], name[..Math.Min(userLen, name.Length)]) < 0 || t.MM.CopyOut(msgAddr + 8, name.Length) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        if (t.MM.CopyOut(msgAddr + 40, 0UL) < 0 || t.MM.CopyOut(msgAddr + 48, msgFlags | (flags & MSG_CMSG_CLOEXEC)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return r;
    }

    private static long PacketGetsockopt(Task t, StackPacketSocket s, int level, int name, ulong valAddr, ulong lenAddr)
    {
        if (t.MM.CopyIn(lenAddr, out int len) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (len < 0)
        {
            return -Errno.EINVAL.Value;
        }

        Span<byte> v = stackalloc byte[16];
        v.Clear();
        int n = 4;
        if (level == SOL_PACKET)
        {
            switch (name)
            {
                case PACKET_STATISTICS:
                    (long packets, long drops) = s.Endpoint.TakeStatistics();
                    MemoryMarshal.Write(v, (uint)packets);
                    MemoryMarshal.Write(v[4..], (uint)drops);
                    n = 8;
                    break;
                // AUXDATA, ORIGDEV, VERSION (TPACKET_V1), RESERVE, LOSS, VNET_HDR, TIMESTAMP, FANOUT, TX_HAS_OFF,
                // QDISC_BYPASS, IGNORE_OUTGOING: none can be set here, so each reads 0.
                case 8 or 9 or 10 or 12 or 14 or 15 or 17 or 18 or 19 or 20 or 23:
                    break;
                default:
                    return -Errno.ENOPROTOOPT.Value;
            }
        }
        else if (level == SOL_SOCKET)
        {
            switch (name)
            {
                case SO_RCVTIMEO_OLD or SO_RCVTIMEO_NEW or SO_SNDTIMEO_OLD or SO_SNDTIMEO_NEW:
                    n = WriteTimeout(s, name, v);
                    break;
                default:
                    int? iv = name switch
                    {
                        SO_TYPE => s.Type,
                        SO_DOMAIN => StackPacketSocket.AF_PACKET,
                        // packet_create never sets sk_protocol: SO_PROTOCOL reads 0 whatever the protocol.
                        SO_PROTOCOL or SO_ERROR or SO_ACCEPTCONN => 0,
                        SO_RCVBUF => s.Endpoint.ReceiveBufferSize,
                        SO_SNDBUF => s.SendBuffer,
                        SO_RCVLOWAT or SO_SNDLOWAT => 1,
                        SO_DEBUG or SO_REUSEADDR or SO_DONTROUTE or SO_BROADCAST or SO_KEEPALIVE or SO_OOBINLINE or SO_PRIORITY
                            or SO_REUSEPORT or SO_PASSCRED => s.GetOption(name),
                        _ => null,
                    };
                    if (iv == null)
                    {
                        return -Errno.ENOPROTOOPT.Value;
                    }

                    MemoryMarshal.Write(v, iv.Value);
                    break;
            }
        }
        else
        {
            return -Errno.ENOPROTOOPT.Value;
        }

        n = Math.Min(n, len);
        return t.MM.CopyOut(valAddr, v[..n]) < 0 || t.MM.CopyOut(lenAddr, n) < 0 ? -Errno.EFAULT.Value : 0;
    }

    private static long PacketSetsockopt(Task t, StackPacketSocket s, int level, int name, ulong valAddr, int len)
    {
        if (level != SOL_SOCKET)
        {
            // SOL_PACKET: rings, fanout, membership and the rest are not served (ENOPROTOOPT, as gVisor answers).
            return -Errno.ENOPROTOOPT.Value;
        }

        if (IsTimeout(SOL_SOCKET, name))
        {
            return SetTimeout(t, s, name, valAddr, len);
        }

        if (len < 4)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyIn(valAddr, out int v) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        switch (name)
        {
            case SO_RCVBUF or SO_RCVBUFFORCE:
                s.Endpoint.ReceiveBufferSize = Math.Max(BufferSize(v, name == SO_RCVBUFFORCE), MinReceiveBuffer);
                return 0;
            case SO_SNDBUF or SO_SNDBUFFORCE:
                s.SendBuffer = Math.Max(BufferSize(v, name == SO_SNDBUFFORCE), MinSendBuffer);
                return 0;
            case SO_PRIORITY:
                s.SetOption(name, v);
                return 0;
            case SO_DEBUG or SO_REUSEADDR or SO_DONTROUTE or SO_BROADCAST or SO_KEEPALIVE or SO_OOBINLINE or SO_REUSEPORT or SO_PASSCRED:
                s.SetOption(name, v != 0 ? 1 : 0);
                return 0;
            default:
                return -Errno.ENOPROTOOPT.Value;
        }
    }
}
