using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Net;

/// <summary>
/// The network of <c>--network=none</c>: one loopback interface (127.0.0.0/8 and ::1) served entirely by the
/// Sentry. It owns the port tables of TCP and UDP: binding with Linux's conflict rules (address overlap
/// across IPv4, IPv4-mapped IPv6 and IPV6_V6ONLY; SO_REUSEADDR and SO_REUSEPORT), ephemeral ports from
/// ip_local_port_range, and the lookups that deliver a connection or a datagram. Lock order: a socket's own
/// lock may be held when calling in here; _mu is a leaf.
/// </summary>
internal sealed class LoopbackStack
{
    /// <summary>Linux's default net.ipv4.ip_local_port_range.</summary>
    public const int EphemeralLow = 32768;
    public const int EphemeralHigh = 60999;

    private readonly Lock _mu = new();

    /// <summary>Statistics for /proc/net/snmp and /proc/net/dev.</summary>
    public NetCounters Counters { get; } = new();

    // Protected by _mu: every bound socket, by protocol and port.
    private readonly Dictionary<ushort, List<InetSocket>> _tcp = [];
    private readonly Dictionary<ushort, List<InetSocket>> _udp = [];
    private readonly Dictionary<ushort, List<InetSocket>> _udpLite = [];
    private int _nextEphemeral = Random.Shared.Next(EphemeralLow, EphemeralHigh + 1);

    private Dictionary<ushort, List<InetSocket>> Table(InetSocket s) =>
        s.IsStream ? _tcp : s.Protocol == InetSocket.IPPROTO_UDPLITE ? _udpLite : _udp;

    /// <summary>
    /// Binds <paramref name="s"/> to <paramref name="addr"/> (port 0: a free ephemeral port). The caller has checked
    /// that the address is local. Returns the bound address, or -EADDRINUSE.
    /// </summary>
    public long Bind(InetSocket s, InetAddr addr, out InetAddr bound)
    {
        bound = default;
        lock (_mu)
        {
            Dictionary<ushort, List<InetSocket>> table = Table(s);
            if (addr.Port == 0)
            {
                int span = EphemeralHigh - EphemeralLow + 1;
                for (int i = 0; i < span; i++)
                {
                    ushort p = (ushort)(EphemeralLow + ((_nextEphemeral - EphemeralLow + i) % span));
                    if (!table.ContainsKey(p))
                    {
                        _nextEphemeral = p + 1;
                        addr = addr.WithPort(p);
                        break;
                    }
                }

                if (addr.Port == 0)
                {
                    return -Errno.EADDRINUSE.Value;
                }
            }
            else if (table.TryGetValue(addr.Port, out List<InetSocket>? others))
            {
                foreach (InetSocket o in others)
                {
                    if (o != s && Conflicts(s, addr, s.ReuseAddr, o))
                    {
                        return -Errno.EADDRINUSE.Value;
                    }
                }
            }

            if (!table.TryGetValue(addr.Port, out List<InetSocket>? list))
            {
                list = [];
                table[addr.Port] = list;
            }

            list.Add(s);
            bound = addr;
            return 0;
        }
    }

    /// <summary>Binds an accepted connection to its listener's port (it shares it, as Linux's children do).</summary>
    public void BindChild(InetSocket child)
    {
        lock (_mu)
        {
            _tcp[child.Local.Port].Add(child);
        }
    }

    /// <summary>listen(2)'s second look: another listener on an overlapping address refuses unless both use SO_REUSEPORT.</summary>
    public bool ListenConflicts(InetSocket s)
    {
        lock (_mu)
        {
            foreach (InetSocket o in _tcp[s.Local.Port])
            {
                if (o != s && o.IsListeningSocket && Conflicts(s, s.Local, false, o))
                {
                    return true;
                }
            }

            return false;
        }
    }

    public void Unbind(InetSocket s)
    {
        lock (_mu)
        {
            Dictionary<ushort, List<InetSocket>> table = Table(s);
            if (table.TryGetValue(s.Local.Port, out List<InetSocket>? list) && list.Remove(s) && list.Count == 0)
            {
                table.Remove(s.Local.Port);
            }
        }
    }

    /// <summary>The listening TCP socket a connection to <paramref name="dst"/> reaches: an exact address before a wildcard.</summary>
    public TcpSocket? FindListener(InetAddr dst)
    {
        lock (_mu)
        {
            return _tcp.TryGetValue(dst.Port, out List<InetSocket>? list) ? (TcpSocket?)Best(list, dst, listening: true) : null;
        }
    }

    /// <summary>The UDP socket a datagram to <paramref name="dst"/> from <paramref name="src"/> reaches (connected sockets only take their peer's).</summary>
    public UdpSocket? FindUdp(InetAddr dst, InetAddr src, bool lite)
    {
        lock (_mu)
        {
            if (!(lite ? _udpLite : _udp).TryGetValue(dst.Port, out List<InetSocket>? list))
            {
                return null;
            }

            InetSocket? best = null;
            int bestScore = 0;
            foreach (InetSocket s in list)
            {
                int score = Score(s, dst);
                if (score == 0)
                {
                    continue;
                }

                if (s.IsConnectedSocket)
                {
                    if (s.Peer != src)
                    {
                        continue;
                    }

                    score += 8;
                }

                if (score > bestScore)
                {
                    best = s;
                    bestScore = score;
                }
            }

            return (UdpSocket?)best;
        }
    }

    /// <summary>Every bound socket of one protocol, for /proc/net.</summary>
    public List<InetSocket> Snapshot(bool tcp)
    {
        lock (_mu)
        {
            var all = new List<InetSocket>();
            foreach (List<InetSocket> l in (tcp ? _tcp : _udp).Values)
            {
                all.AddRange(l);
            }

            return all;
        }
    }

    // Preconditions: _mu is held.
    private static InetSocket? Best(List<InetSocket> list, InetAddr dst, bool listening)
    {
        InetSocket? best = null;
        int bestScore = 0;
        foreach (InetSocket s in list)
        {
            if (listening && !s.IsListeningSocket)
            {
                continue;
            }

            int score = Score(s, dst);
            if (score > bestScore)
            {
                best = s;
                bestScore = score;
            }
        }

        return best;
    }

    // How well a bound socket matches a destination (0: not at all); an exact address wins over a wildcard, and an
    // IPv4 socket over an IPv6 one for IPv4 traffic, as Linux's compute_score prefers.
    private static int Score(InetSocket s, InetAddr dst)
    {
        UInt128 ip = s.Local.Ip;
        if (s.Family == InetAddr.AF_INET)
        {
            return !dst.IsV4 ? 0 : ip == dst.Ip ? 4 : ip == InetAddr.V4Any ? 2 : 0;
        }

        if (dst.IsV4)
        {
            return s.V6Only ? 0 : ip == dst.Ip ? 4 : ip == 0 || ip == InetAddr.V4Any ? 1 : 0;
        }

        return ip == dst.Ip ? 4 : ip == 0 ? 2 : 0;
    }

    // Linux's bind conflict test for s binding addr against an already bound o on the same port.
    private static bool Conflicts(InetSocket s, InetAddr addr, bool reuseAddr, InetSocket o)
    {
        bool reuse = s.IsStream ? reuseAddr && o.ReuseAddr && !o.IsListeningSocket : reuseAddr && o.ReuseAddr;
        if (reuse || (s.ReusePort && o.ReusePort && s.Uid == o.Uid))
        {
            return false;
        }

        return Overlap(V4Set(s.Family, addr.Ip, s.V6Only), V4Set(o.Family, o.Local.Ip, o.V6Only))
            || Overlap(V6Set(s.Family, addr.Ip), V6Set(o.Family, o.Local.Ip));
    }

    // The set of IPv4 (or IPv6) addresses a bound socket receives on: (0, _) none, (1, _) all, (2, ip) one.
    private static (int Kind, UInt128 Ip) V4Set(int family, UInt128 ip, bool v6Only)
    {
        var a = new InetAddr(ip, 0);
        if (family == InetAddr.AF_INET)
        {
            return a.IsAny ? (1, UInt128.Zero) : (2, ip);
        }

        if (ip == 0)
        {
            return v6Only ? (0, UInt128.Zero) : (1, UInt128.Zero);
        }

        return a.IsV4 ? (ip == InetAddr.V4Any ? (1, UInt128.Zero) : (2, ip)) : (0, UInt128.Zero);
    }

    private static (int Kind, UInt128 Ip) V6Set(int family, UInt128 ip)
    {
        if (family == InetAddr.AF_INET || new InetAddr(ip, 0).IsV4)
        {
            return (0, UInt128.Zero);
        }

        return ip == 0 ? (1, UInt128.Zero) : (2, ip);
    }

    private static bool Overlap((int Kind, UInt128 Ip) a, (int Kind, UInt128 Ip) b) =>
        a.Kind != 0 && b.Kind != 0 && (a.Kind == 1 || b.Kind == 1 || a.Ip == b.Ip);
}
