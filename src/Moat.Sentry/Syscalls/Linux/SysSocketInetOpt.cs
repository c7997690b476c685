using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// getsockopt(2) and setsockopt(2) of internet sockets: SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP and IPPROTO_IPV6.
/// Options that only tune packets (TCP_NODELAY, IP_TOS, keepalive times, ...) are checked as Linux checks
/// them, stored and read back: on loopback every byte is delivered at once, so they change nothing else.
/// Those the loopback can show act: buffer sizes, TCP_CORK, TCP_DEFER_ACCEPT, SO_TIMESTAMP(NS), TCP_INFO.
/// </summary>
internal static partial class SysSocket
{
    private const int SOL_IP = 0;
    private const int SOL_TCP = 6;
    private const int SOL_IPV6 = 41;
    private const int SO_SNDLOWAT = 19;
    private const int SO_BINDTODEVICE = 25;
    private const int TCP_NODELAY = 1;
    private const int TCP_MAXSEG = 2;
    private const int TCP_KEEPIDLE = 4;
    private const int TCP_KEEPINTVL = 5;
    private const int TCP_KEEPCNT = 6;
    private const int TCP_SYNCNT = 7;
    private const int TCP_INFO = 11;
    private const int TCP_CONGESTION = 13;
    private const int TCP_CORK = 3;
    private const int TCP_DEFER_ACCEPT = 9;
    private const int IPV6_TCLASS = 67;
    private const int SO_TIMESTAMP_OLD = 29;
    private const int SO_TIMESTAMPNS_OLD = 35;
    private const int SO_SELECT_ERR_QUEUE = 45;
    private const int IP_TTL = 2;
    private const int IP_MTU = 14;
    private const int IPV6_UNICAST_HOPS = 16;
    private const int IPV6_V6ONLY = 26;
    private const int IPV6_MTU = 24;

    // Defaults of the stored options, keyed by level << 16 | name; an option missing here is ENOPROTOOPT.
    private static readonly Dictionary<int, int> s_tcpDefaults = new()
    {
        [Key(SOL_TCP, TCP_NODELAY)] = 0,
        [Key(SOL_TCP, TCP_MAXSEG)] = 536,
        [Key(SOL_TCP, 3)] = 0, // TCP_CORK
        [Key(SOL_TCP, TCP_KEEPIDLE)] = 7200,
        [Key(SOL_TCP, TCP_KEEPINTVL)] = 75,
        [Key(SOL_TCP, TCP_KEEPCNT)] = 9,
        [Key(SOL_TCP, TCP_SYNCNT)] = 6,
        [Key(SOL_TCP, 8)] = 60, // TCP_LINGER2
        [Key(SOL_TCP, 9)] = 0, // TCP_DEFER_ACCEPT
        [Key(SOL_TCP, 10)] = 0, // TCP_WINDOW_CLAMP
        [Key(SOL_TCP, 12)] = 1, // TCP_QUICKACK
        [Key(SOL_TCP, 16)] = 0, // TCP_THIN_LINEAR_TIMEOUTS
        [Key(SOL_TCP, 17)] = 0, // TCP_THIN_DUPACK
        [Key(SOL_TCP, 18)] = 0, // TCP_USER_TIMEOUT
        [Key(SOL_TCP, 23)] = 0, // TCP_FASTOPEN
        [Key(SOL_TCP, 25)] = -1, // TCP_NOTSENT_LOWAT
        [Key(SOL_TCP, 30)] = 0, // TCP_FASTOPEN_CONNECT
    };

    private static readonly Dictionary<int, int> s_ipDefaults = new()
    {
        [Key(SOL_IP, 1)] = 0, // IP_TOS
        [Key(SOL_IP, IP_TTL)] = 64,
        [Key(SOL_IP, 8)] = 0, // IP_PKTINFO
        [Key(SOL_IP, 10)] = 1, // IP_MTU_DISCOVER: IP_PMTUDISC_WANT
        [Key(SOL_IP, 11)] = 0, // IP_RECVERR
        [Key(SOL_IP, 12)] = 0, // IP_RECVTTL
        [Key(SOL_IP, 13)] = 0, // IP_RECVTOS
        [Key(SOL_IP, 15)] = 0, // IP_FREEBIND
        [Key(SOL_IP, 19)] = 0, // IP_TRANSPARENT
        [Key(SOL_IP, 20)] = 0, // IP_RECVORIGDSTADDR
        [Key(SOL_IP, 24)] = 0, // IP_BIND_ADDRESS_NO_PORT
        [Key(SOL_IP, 33)] = 1, // IP_MULTICAST_TTL
        [Key(SOL_IP, 34)] = 1, // IP_MULTICAST_LOOP
        [Key(SOL_IP, 49)] = 1, // IP_MULTICAST_ALL
    };

    private static readonly Dictionary<int, int> s_ipv6Defaults = new()
    {
        [Key(SOL_IPV6, IPV6_UNICAST_HOPS)] = 64,
        [Key(SOL_IPV6, 18)] = 1, // IPV6_MULTICAST_HOPS
        [Key(SOL_IPV6, 19)] = 1, // IPV6_MULTICAST_LOOP
        [Key(SOL_IPV6, 23)] = 1, // IPV6_MTU_DISCOVER
        [Key(SOL_IPV6, 25)] = 0, // IPV6_RECVERR
        [Key(SOL_IPV6, 29)] = 1, // IPV6_MULTICAST_ALL
        [Key(SOL_IPV6, 49)] = 0, // IPV6_RECVPKTINFO
        [Key(SOL_IPV6, 51)] = 0, // IPV6_RECVHOPLIMIT
        [Key(SOL_IPV6, 62)] = 0, // IPV6_DONTFRAG
        [Key(SOL_IPV6, 66)] = 0, // IPV6_RECVTCLASS
        [Key(SOL_IPV6, 67)] = 0, // IPV6_TCLASS
        [Key(SOL_IPV6, 74)] = 0, // IPV6_RECVORIGDSTADDR
        [Key(SOL_IPV6, 78)] = 0, // IPV6_FREEBIND
    };

    private static int Key(int level, int name) => (level << 16) | name;

    // The options of a host socket the Sentry passes through: what the netstack's sockets know, no more.
    private static bool HostOptionAllowed(InetSocket s, int level, int name, bool get)
    {
        if (level == SOL_SOCKET)
        {
            return name is SO_DEBUG or SO_REUSEADDR or SO_DONTROUTE or SO_BROADCAST or SO_SNDBUF or SO_RCVBUF or SO_KEEPALIVE
                or SO_OOBINLINE or SO_PRIORITY or SO_LINGER or SO_REUSEPORT or SO_RCVLOWAT or SO_SNDLOWAT
                || (get && name is SO_TYPE or SO_ERROR or SO_ACCEPTCONN or SO_PROTOCOL or SO_DOMAIN);
        }

        if (level == SOL_TCP && s.IsStream && (name == TCP_CONGESTION || (get && name == TCP_INFO)))
        {
            return true;
        }

        if ((level == SOL_IP && get && name == IP_MTU) || (level == SOL_IPV6 && s.Family == InetAddr.AF_INET6 && (name == IPV6_V6ONLY || (get && name == IPV6_MTU))))
        {
            return true;
        }

        return Defaults(s, level)?.ContainsKey(Key(level, name)) == true;
    }

    private static Dictionary<int, int>? Defaults(InetSocket s, int level) => level switch
    {
        SOL_TCP when s.IsStream => s_tcpDefaults,
        SOL_IP => s_ipDefaults,
        SOL_IPV6 when s.Family == InetAddr.AF_INET6 => s_ipv6Defaults,
        _ => null,
    };

    /// <summary>Implements getsockopt(2).</summary>
    public static long NetGetsockopt(Task t, in SyscallArgs a)
    {
        if (TryNetlink(t, a, 7, out long nl))
        {
            return nl;
        }

        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 7, out long packet) ? packet : Getsockopt(t, a);
        }

        try
        {
            return InetGetsockopt(t, s, a.Int(1), a.Int(2), a.Pointer(3), a.Pointer(4));
        }
        finally
        {
            s.DecRef();
        }
    }

    private static long InetGetsockopt(Task t, InetSocket s, int level, int name, ulong valAddr, ulong lenAddr)
    {
        if (t.MM.CopyIn(lenAddr, out int len) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (len < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (s is HostInetSocket host && !IsTimeout(level, name))
        {
            if (!HostOptionAllowed(s, level, name, get: true))
            {
                return -Errno.ENOPROTOOPT.Value;
            }

            Span<byte> hv = stackalloc byte[256];
            long hr = HostNet.GetOption(host.HostFd, level, name, hv[..Math.Min(len, hv.Length)], out int hlen);
            if (hr < 0)
            {
                return hr;
            }

            hlen = Math.Min(hlen, len);
            return t.MM.CopyOut(valAddr, hv[..hlen]) < 0 || t.MM.CopyOut(lenAddr, hlen) < 0 ? -Errno.EFAULT.Value : 0;
        }

        if (TryRawGetsockopt(t, s, level, name, valAddr, lenAddr, len, out long rawOption))
        {
            return rawOption;
        }

        Span<byte> v = stackalloc byte[StackTcpSocket.TcpInfoSize];
        v.Clear();
        int n = 4;
        if (level == SOL_SOCKET)
        {
            switch (name)
            {
                case SO_RCVTIMEO_OLD or SO_RCVTIMEO_NEW or SO_SNDTIMEO_OLD or SO_SNDTIMEO_NEW:
                    n = WriteTimeout(s, name, v);
                    break;
                case SO_LINGER:
                    MemoryMarshal.Write(v, s.LingerOn ? 1 : 0);
                    MemoryMarshal.Write(v[4..], s.LingerSeconds);
                    n = 8;
                    break;
                case SO_BINDTODEVICE:
                    n = 0;
                    break;
                default:
                    int? iv = name switch
                    {
                        SO_TYPE => s.Type,
                        SO_ERROR => s.TakeError(),
                        SO_DOMAIN => s.Family,
                        SO_PROTOCOL => s.Protocol,
                        SO_ACCEPTCONN => s.IsListeningSocket ? 1 : 0,
                        SO_SNDBUF => s.SendBuffer,
                        SO_RCVBUF => s.ReceiveBuffer,
                        SO_REUSEADDR => s.ReuseAddr ? 1 : 0,
                        SO_REUSEPORT => s.ReusePort ? 1 : 0,
                        SO_RCVLOWAT => s.Options.GetValueOrDefault(Key(SOL_SOCKET, SO_RCVLOWAT), 1),
                        SO_TIMESTAMP_OLD => s.TimestampMode == 1 ? 1 : 0,
                        SO_TIMESTAMPNS_OLD => s.TimestampMode == 2 ? 1 : 0,
                        SO_SELECT_ERR_QUEUE => s.Options.GetValueOrDefault(Key(SOL_SOCKET, name)),
                        SO_SNDLOWAT => 1,
                        SO_DEBUG or SO_DONTROUTE or SO_BROADCAST or SO_KEEPALIVE or SO_OOBINLINE or SO_PRIORITY or SO_PASSCRED
                            => s.Options.GetValueOrDefault(Key(SOL_SOCKET, name)),
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
        else if (level == SOL_TCP && s.IsStream && name == TCP_INFO)
        {
            if (s is StackTcpSocket stackTcp)
            {
                stackTcp.FillInfo(v);
            }
            else
            {
                v[0] = 7; // TCP_CLOSE
            }

            n = StackTcpSocket.TcpInfoSize;
        }
        else if (level == SOL_TCP && s.IsStream && name == TCP_CONGESTION)
        {
            "cubic"u8.CopyTo(v);
            n = 16;
        }
        else if ((level == SOL_IP && name == IP_MTU) || (level == SOL_IPV6 && name == IPV6_MTU && s.Family == InetAddr.AF_INET6))
        {
            if (!s.IsConnectedSocket)
            {
                return -Errno.ENOTCONN.Value;
            }

            MemoryMarshal.Write(v, LoopbackInterface.Mtu);
        }
        else if (level == SOL_IPV6 && name == IPV6_V6ONLY && s.Family == InetAddr.AF_INET6)
        {
            MemoryMarshal.Write(v, s.V6Only ? 1 : 0);
        }
        else
        {
            Dictionary<int, int>? defaults = Defaults(s, level);
            int key = Key(level, name);
            if (defaults == null || !defaults.TryGetValue(key, out int def))
            {
                return -Errno.ENOPROTOOPT.Value;
            }

            int value = s.Options.GetValueOrDefault(key, def);
            if (level == SOL_TCP && name == TCP_DEFER_ACCEPT)
            {
                value = TcpDeferAccept.RetransToSeconds(value);
            }

            if (level == SOL_TCP && name == TCP_MAXSEG && !s.Options.ContainsKey(key) && s.IsConnectedSocket && s is StackTcpSocket connected)
            {
                value = connected.Mss;
            }
            else if (level == SOL_TCP && name == TCP_MAXSEG && !s.Options.ContainsKey(key) && s.IsConnectedSocket)
            {
                // The loopback MTU less the IP and TCP headers and the timestamp option.
                value = s.Family == InetAddr.AF_INET ? 65483 : 65476;
            }

            MemoryMarshal.Write(v, value);
        }

        n = Math.Min(n, len);
        return t.MM.CopyOut(valAddr, v[..n]) < 0 || t.MM.CopyOut(lenAddr, n) < 0 ? -Errno.EFAULT.Value : 0;
    }

    /// <summary>Implements setsockopt(2).</summary>
    public static long NetSetsockopt(Task t, in SyscallArgs a)
    {
        if (TryNetlink(t, a, 6, out long nl))
        {
            return nl;
        }

        InetSocket? s = Inet(t, a.Int(0));
        if (s == null)
        {
            return TryPacket(t, a, 6, out long packet) ? packet : Setsockopt(t, a);
        }

        try
        {
            return InetSetsockopt(t, s, a.Int(1), a.Int(2), a.Pointer(3), a.Int(4));
        }
        finally
        {
            s.DecRef();
        }
    }

    private static long InetSetsockopt(Task t, InetSocket s, int level, int name, ulong valAddr, int len)
    {
        if (s is HostInetSocket host && !IsTimeout(level, name))
        {
            // Only options that tune this socket pass to the host; nothing that needs privilege or takes code (filters).
            if (!HostOptionAllowed(s, level, name, get: false))
            {
                return -Errno.ENOPROTOOPT.Value;
            }

            if (len < 0 || len > 64)
            {
                return -Errno.EINVAL.Value;
            }

            Span<byte> hv = stackalloc byte[64];
            if (len > 0 && t.MM.CopyIn(valAddr, hv[..len]) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return HostNet.SetOption(host.HostFd, level, name, hv[..len]);
        }

        if (TryRawSetsockopt(t, s, level, name, valAddr, len, out long rawOption))
        {
            return rawOption;
        }

        if (level == SOL_SOCKET && name == SO_BINDTODEVICE)
        {
            // Only "lo" exists; an empty name unbinds.
            Span<byte> dev = stackalloc byte[16];
            int l = Math.Clamp(len, 0, 15);
            if (l > 0 && t.MM.CopyIn(valAddr, dev[..l]) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            int end = dev[..l].IndexOf((byte)0);
            ReadOnlySpan<byte> devName = dev[..(end < 0 ? l : end)];
            return devName.IsEmpty || devName.SequenceEqual("lo"u8) ? 0 : -Errno.ENODEV.Value;
        }

        if (level == SOL_TCP && s.IsStream && name == TCP_CONGESTION)
        {
            Span<byte> algo = stackalloc byte[16];
            int l = Math.Clamp(len, 0, 15);
            if (l > 0 && t.MM.CopyIn(valAddr, algo[..l]) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            int end = algo[..l].IndexOf((byte)0);
            ReadOnlySpan<byte> algoName = algo[..(end < 0 ? l : end)];
            return algoName.SequenceEqual("cubic"u8) || algoName.SequenceEqual("reno"u8) ? 0 : -Errno.ENOENT.Value;
        }

        if (IsTimeout(level, name))
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

        if (level == SOL_SOCKET)
        {
            switch (name)
            {
                case SO_SNDBUF or SO_SNDBUFFORCE:
                    s.SendBuffer = Math.Max(BufferSize(v, name == SO_SNDBUFFORCE), MinSendBuffer);
                    s.SendBufferLocked = true;
                    s.Events.Notify();
                    return 0;
                case SO_RCVBUF or SO_RCVBUFFORCE:
                    s.ReceiveBuffer = Math.Max(BufferSize(v, name == SO_RCVBUFFORCE), MinReceiveBuffer);
                    s.ReceiveBufferLocked = true;
                    s.Events.Notify();
                    return 0;
                case SO_REUSEADDR:
                    s.ReuseAddr = v != 0;
                    return 0;
                case SO_REUSEPORT:
                    s.ReusePort = v != 0;
                    return 0;
                case SO_LINGER:
                    if (len < 8)
                    {
                        return -Errno.EINVAL.Value;
                    }

                    if (t.MM.CopyIn(valAddr + 4, out int secs) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    s.LingerOn = v != 0;
                    s.LingerSeconds = secs;
                    return 0;
                case SO_RCVLOWAT:
                    s.Options[Key(level, name)] = v < 0 ? int.MaxValue : Math.Max(v, 1);
                    return 0;
                case SO_PRIORITY:
                    s.Options[Key(level, name)] = v;
                    return 0;
                case SO_DEBUG or SO_DONTROUTE or SO_BROADCAST or SO_KEEPALIVE or SO_OOBINLINE or SO_PASSCRED or SO_SELECT_ERR_QUEUE:
                    s.Options[Key(level, name)] = v != 0 ? 1 : 0;
                    s.OptionChanged(level, name, v != 0 ? 1 : 0);
                    return 0;
                case SO_TIMESTAMP_OLD or SO_TIMESTAMPNS_OLD:
                    // One mode at a time; turning either off turns both off (sock_set_timestamp).
                    s.TimestampMode = v == 0 ? 0 : name == SO_TIMESTAMP_OLD ? 1 : 2;
                    return 0;
                default:
                    return -Errno.ENOPROTOOPT.Value;
            }
        }

        if (level == SOL_IPV6 && name == IPV6_V6ONLY && s.Family == InetAddr.AF_INET6)
        {
            if (s.IsBound)
            {
                return -Errno.EINVAL.Value;
            }

            s.V6Only = v != 0;
            return 0;
        }

        Dictionary<int, int>? defaults = Defaults(s, level);
        int key = Key(level, name);
        if (defaults == null || !defaults.TryGetValue(key, out int def))
        {
            return -Errno.ENOPROTOOPT.Value;
        }

        long check = CheckValue(level, name, ref v, def);
        if (check < 0)
        {
            return check;
        }

        s.Options[key] = v;
        s.OptionChanged(level, name, v);

        return 0;
    }

    // Linux's range checks of the stored options; -1 restores the default hop limits.
    private static long CheckValue(int level, int name, ref int v, int def)
    {
        bool ok = (level, name) switch
        {
            (SOL_TCP, TCP_KEEPIDLE or TCP_KEEPINTVL) => v is >= 1 and <= 32767,
            (SOL_TCP, TCP_KEEPCNT or TCP_SYNCNT) => v is >= 1 and <= 127,
            (SOL_TCP, TCP_MAXSEG) => v is >= 88 and <= 65535,
            (SOL_TCP, 18) => v >= 0, // TCP_USER_TIMEOUT
            (SOL_IP, IP_TTL) => v is -1 or (>= 1 and <= 255),
            (SOL_IPV6, IPV6_UNICAST_HOPS or 18 or IPV6_TCLASS) => v is >= -1 and <= 255,
            _ => true,
        };
        if (!ok)
        {
            return -Errno.EINVAL.Value;
        }

        if (v == -1 && ((level == SOL_IP && name == IP_TTL) || (level == SOL_IPV6 && name is IPV6_UNICAST_HOPS or 18 or IPV6_TCLASS)))
        {
            v = def;
        }
        else if (level == SOL_TCP && name == TCP_DEFER_ACCEPT)
        {
            // Kept as Linux keeps it: the SYN-ACK retransmissions that cover the seconds.
            v = TcpDeferAccept.SecondsToRetrans(v);
        }
        else if (level == SOL_TCP && name is TCP_NODELAY or TCP_CORK or 12 or 16 or 17 or 30)
        {
            v = v != 0 ? 1 : 0;
        }
        else if (level == SOL_IP && name is 8 or 11 or 12 or 13 or 15 or 19 or 20 or 24 or 34 or 49)
        {
            v = v != 0 ? 1 : 0;
        }
        else if (level == SOL_IPV6 && name is 25 or 29 or 49 or 51 or 66 or 74 or 78)
        {
            v = v != 0 ? 1 : 0;
        }

        return 0;
    }
}
