using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// Raw IPv4 and AF_PACKET sockets on the netstack: their creation (--net-raw and CAP_NET_RAW, else EPERM as runsc
/// answers without --net-raw) and the options only raw sockets have (IP_HDRINCL, ICMP_FILTER).
/// </summary>
internal static partial class SysSocket
{
    private const int SOCK_PACKET = 10;
    private const int IPPROTO_MAX = 263;
    private const int IP_HDRINCL = 3;
    private const int SOL_RAW = 255;
    private const int ICMP_FILTER = 1;

    // socket(AF_INET, SOCK_RAW, protocol) on the netstack, checked in inet_create's order.
    private static long RawSocketCall(Task t, SandboxNetwork net, int type, int protocol)
    {
        if (protocol is < 0 or >= IPPROTO_MAX)
        {
            return -Errno.EINVAL.Value;
        }

        // The raw entry of inetsw is a wildcard that IPPROTO_IP cannot pick.
        if (protocol == 0)
        {
            return -Errno.EPROTONOSUPPORT.Value;
        }

        if (!net.RawSockets || !t.Credentials.HasCapability(Credentials.CAP_NET_RAW))
        {
            return -Errno.EPERM.Value;
        }

        var s = new StackRawSocket(net.Stack.CreateRaw((byte)protocol), protocol, type, t.Credentials.EffectiveUid);
        int fd = t.Fds.Add(s, (type & SOCK_CLOEXEC) != 0, 0, Limit(t));
        s.DecRef();
        return fd;
    }

    // socket(AF_PACKET, type, protocol) on the netstack, in packet_create's order: the capability first.
    private static long PacketSocketCall(Task t, SandboxNetwork net, int type, int protocol)
    {
        if ((type & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (!net.RawSockets || !t.Credentials.HasCapability(Credentials.CAP_NET_RAW))
        {
            return -Errno.EPERM.Value;
        }

        int kind = type & SOCK_TYPE_MASK;
        if (kind is not (StackRawSocket.SOCK_RAW or InetSocket.SOCK_DGRAM))
        {
            // SOCK_PACKET (the pre-2.2 interface) is refused deliberately, as the other types are.
            return -Errno.ESOCKTNOSUPPORT.Value;
        }

        // The protocol is an EtherType in network order.
        ushort ethertype = (ushort)(((protocol & 0xFF) << 8) | ((protocol >> 8) & 0xFF));
        var s = new StackPacketSocket(net.Stack.CreatePacket(kind == InetSocket.SOCK_DGRAM, ethertype), kind, type);
        int fd = t.Fds.Add(s, (type & SOCK_CLOEXEC) != 0, 0, Limit(t));
        s.DecRef();
        return fd;
    }

    // getsockopt of what only raw sockets have: IP_HDRINCL (0 on other internet sockets) and SOL_RAW's ICMP_FILTER.
    private static bool TryRawGetsockopt(Task t, InetSocket s, int level, int name, ulong valAddr, ulong lenAddr, int len, out long result)
    {
        result = 0;
        int value;
        int size = 4;
        if (level == SOL_IP && name == IP_HDRINCL)
        {
            value = s is StackRawSocket { HeaderIncluded: true } ? 1 : 0;
        }
        else if (level == SOL_RAW && s is StackRawSocket raw)
        {
            if (name != ICMP_FILTER)
            {
                result = -Errno.ENOPROTOOPT.Value;
                return true;
            }

            if (raw.Protocol != StackPingSocket.IPPROTO_ICMP)
            {
                result = -Errno.EOPNOTSUPP.Value;
                return true;
            }

            value = (int)raw.IcmpFilter;
        }
        else
        {
            return false;
        }

        size = Math.Min(size, len);
        Span<byte> v = stackalloc byte[4];
        MemoryMarshal.Write(v, value);
        result = t.MM.CopyOut(valAddr, v[..size]) < 0 || t.MM.CopyOut(lenAddr, size) < 0 ? -Errno.EFAULT.Value : 0;
        return true;
    }

    // setsockopt of IP_HDRINCL and ICMP_FILTER on a raw socket (IP_HDRINCL elsewhere stays ENOPROTOOPT, as Linux).
    private static bool TryRawSetsockopt(Task t, InetSocket s, int level, int name, ulong valAddr, int len, out long result)
    {
        result = 0;
        if (s is not StackRawSocket raw || !((level == SOL_IP && name == IP_HDRINCL) || level == SOL_RAW))
        {
            return false;
        }

        if (level == SOL_RAW)
        {
            if (name != ICMP_FILTER)
            {
                result = -Errno.ENOPROTOOPT.Value;
                return true;
            }

            if (raw.Protocol != StackPingSocket.IPPROTO_ICMP)
            {
                result = -Errno.EOPNOTSUPP.Value;
                return true;
            }

            // raw_seticmpfilter copies at most the 4 bytes of struct icmp_filter, and fewer when given fewer.
            Span<byte> f = stackalloc byte[4];
            MemoryMarshal.Write(f, raw.IcmpFilter);
            int n = Math.Clamp(len, 0, 4);
            if (n > 0 && t.MM.CopyIn(valAddr, f[..n]) < 0)
            {
                result = -Errno.EFAULT.Value;
                return true;
            }

            raw.IcmpFilter = MemoryMarshal.Read<uint>(f);
            return true;
        }

        // do_ip_setsockopt reads an int, one byte when fewer are given, nothing (0) when none is.
        int v = 0;
        if (len >= 4 ? t.MM.CopyIn(valAddr, out v) < 0 : len >= 1 && ReadByte(t, valAddr, out v) < 0)
        {
            result = -Errno.EFAULT.Value;
            return true;
        }

        raw.HeaderIncluded = v != 0;
        return true;
    }

    private static long ReadByte(Task t, ulong addr, out int v)
    {
        long r = t.MM.CopyIn(addr, out byte b);
        v = b;
        return r;
    }
}
