using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using Moat.Sentry.Net.Stack;

namespace Moat.Sentry.Net;

/// <summary>
/// The NETLINK_ROUTE messages that describe the sandbox's interfaces, addresses and routes
/// (<see cref="NetInterfaces"/>), each encoded as Linux's rtnl_fill_ifinfo, inet_fill_ifaddr / inet6_fill_ifaddr
/// and fib_dump_info / rt6_fill_node write them: the attributes iproute2 and glibc read, in their layout.
/// Each method returns whole messages (header, body, attributes, padded to 4 bytes).
/// </summary>
internal static class RouteMessages
{
    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_NEWADDR = 20;
    public const ushort RTM_NEWROUTE = 24;
    public const ushort NLM_F_MULTI = 0x2;
    public const int HeaderSize = 16;

    public const byte RTN_UNICAST = 1;
    public const byte RTN_LOCAL = 2;
    public const byte RTN_BROADCAST = 3;
    public const byte RT_SCOPE_UNIVERSE = 0;
    public const byte RT_SCOPE_LINK = 253;
    public const byte RT_SCOPE_HOST = 254;
    public const byte RT_TABLE_MAIN = 254;
    public const byte RT_TABLE_LOCAL = 255;
    public const byte RTPROT_KERNEL = 2;

    // The default route is what the sandbox's setup installed, as `ip route add` does: proto boot, which ip hides.
    public const byte RTPROT_BOOT = 3;

    private const byte IFA_F_PERMANENT = 0x80;

    /// <summary>RTM_NEWLINK for <paramref name="i"/>.</summary>
    public static byte[] Link(NetInterface i, ushort flags, uint seq, uint port)
    {
        var p = new List<byte>(640);
        Span<byte> info = stackalloc byte[16];
        info.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(info[2..], i.HardwareType);
        BinaryPrimitives.WriteInt32LittleEndian(info[4..], i.Index);
        BinaryPrimitives.WriteInt32LittleEndian(info[8..], i.Flags);
        p.AddRange(info);
        Attr(p, 3, Encoding.ASCII.GetBytes(i.Name + "\0")); // IFLA_IFNAME
        Attr(p, 13, U32(NetInterface.TxQueueLength)); // IFLA_TXQLEN
        Attr(p, 16, [0]); // IFLA_OPERSTATE: unknown, as lo and a TAP device report it
        Attr(p, 17, [0]); // IFLA_LINKMODE
        Attr(p, 4, U32(i.Mtu)); // IFLA_MTU
        Attr(p, 50, U32(i.Loopback ? 0 : 68)); // IFLA_MIN_MTU
        Attr(p, 51, U32(i.Loopback ? 0 : i.Mtu)); // IFLA_MAX_MTU: the stack's links have a fixed MTU
        Attr(p, 27, U32(0)); // IFLA_GROUP: default
        Attr(p, 30, U32(0)); // IFLA_PROMISCUITY
        Attr(p, 31, U32(1)); // IFLA_NUM_TX_QUEUES
        Attr(p, 40, U32(65535)); // IFLA_GSO_MAX_SEGS
        Attr(p, 41, U32(65536)); // IFLA_GSO_MAX_SIZE
        Attr(p, 32, U32(1)); // IFLA_NUM_RX_QUEUES
        Attr(p, 33, [1]); // IFLA_CARRIER
        Attr(p, 35, U32(0)); // IFLA_CARRIER_CHANGES
        Attr(p, 39, [0]); // IFLA_PROTO_DOWN
        Attr(p, 14, new byte[32]); // IFLA_MAP
        Span<byte> mac = stackalloc byte[6];
        i.Mac.Write(mac);
        Attr(p, 1, mac); // IFLA_ADDRESS
        i.BroadcastMac.Write(mac);
        Attr(p, 2, mac); // IFLA_BROADCAST

        // struct rtnl_link_stats64 (25 counters) and struct rtnl_link_stats (25, 32 bits each): rx/tx packets, rx/tx bytes first.
        Span<byte> stats = stackalloc byte[200];
        stats.Clear();
        BinaryPrimitives.WriteInt64LittleEndian(stats, i.RxPackets);
        BinaryPrimitives.WriteInt64LittleEndian(stats[8..], i.TxPackets);
        BinaryPrimitives.WriteInt64LittleEndian(stats[16..], i.RxBytes);
        BinaryPrimitives.WriteInt64LittleEndian(stats[24..], i.TxBytes);
        Attr(p, 23, stats); // IFLA_STATS64
        Span<byte> stats32 = stackalloc byte[100];
        stats32.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(stats32, (uint)i.RxPackets);
        BinaryPrimitives.WriteUInt32LittleEndian(stats32[4..], (uint)i.TxPackets);
        BinaryPrimitives.WriteUInt32LittleEndian(stats32[8..], (uint)i.RxBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(stats32[12..], (uint)i.TxBytes);
        Attr(p, 7, stats32); // IFLA_STATS
        Attr(p, 6, "noqueue\0"u8); // IFLA_QDISC: frames go straight to the link
        return Message(RTM_NEWLINK, flags, seq, port, p);
    }

    /// <summary>
    /// RTM_NEWLINK of IPv6's own link dump (inet6_fill_ifinfo, for a dump of family AF_INET6): name, address,
    /// MTU, operstate and IFLA_PROTINFO with the interface's IPv6 flags (IF_READY on lo, where IPv6 runs).
    /// </summary>
    public static byte[] Link6(NetInterface i, uint seq, uint port)
    {
        var p = new List<byte>(96);
        Span<byte> info = stackalloc byte[16];
        info.Clear();
        info[0] = (byte)InetAddr.AF_INET6;
        BinaryPrimitives.WriteUInt16LittleEndian(info[2..], i.HardwareType);
        BinaryPrimitives.WriteInt32LittleEndian(info[4..], i.Index);
        BinaryPrimitives.WriteInt32LittleEndian(info[8..], i.Flags);
        p.AddRange(info);
        Attr(p, 3, Encoding.ASCII.GetBytes(i.Name + "\0")); // IFLA_IFNAME
        Span<byte> mac = stackalloc byte[6];
        i.Mac.Write(mac);
        Attr(p, 1, mac); // IFLA_ADDRESS
        Attr(p, 4, U32(i.Mtu)); // IFLA_MTU
        Attr(p, 16, [0]); // IFLA_OPERSTATE
        var inet6 = new List<byte>();
        Attr(inet6, 1, U32(i.HasIpv6Loopback ? unchecked((int)0x80000000) : 0)); // IFLA_INET6_FLAGS
        Attr(p, 12, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(inet6)); // IFLA_PROTINFO
        return Message(RTM_NEWLINK, NLM_F_MULTI, seq, port, p);
    }

    /// <summary>The RTM_NEWADDR messages of a dump of <paramref name="family"/> (0: IPv4, then IPv6).</summary>
    public static List<byte[]> Addresses(NetInterfaces n, byte family, uint seq, uint port)
    {
        var list = new List<byte[]>();
        if (family is 0 or InetAddr.AF_INET)
        {
            foreach (NetInterface i in n.Interfaces)
            {
                list.Add(Address4(i, seq, port));
            }
        }

        if (family is 0 or InetAddr.AF_INET6)
        {
            foreach (NetInterface i in n.Interfaces)
            {
                if (i.HasIpv6Loopback)
                {
                    list.Add(Address6Loopback(i, seq, port));
                }
            }
        }

        return list;
    }

    // inet_fill_ifaddr: lo's 127.0.0.1/8 is host scope and has no broadcast; other addresses are global with their subnet's.
    private static byte[] Address4(NetInterface i, uint seq, uint port)
    {
        var p = new List<byte>(96) { (byte)InetAddr.AF_INET, (byte)i.Prefix, IFA_F_PERMANENT, i.Loopback ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE };
        p.AddRange(U32(i.Index));
        Span<byte> a = stackalloc byte[4];
        i.Address.Write(a);
        Attr(p, 1, a); // IFA_ADDRESS
        Attr(p, 2, a); // IFA_LOCAL
        if (!i.Loopback && !i.Broadcast.IsUnspecified)
        {
            i.Broadcast.Write(a);
            Attr(p, 4, a); // IFA_BROADCAST
        }

        Attr(p, 3, Encoding.ASCII.GetBytes(i.Name + "\0")); // IFA_LABEL
        Attr(p, 8, U32(IFA_F_PERMANENT)); // IFA_FLAGS
        Attr(p, 6, CacheInfo()); // IFA_CACHEINFO
        return Message(RTM_NEWADDR, NLM_F_MULTI, seq, port, p);
    }

    // inet6_fill_ifaddr for ::1/128 on lo, which the kernel itself configured (IFA_PROTO IFAPROT_KERNEL_LO).
    private static byte[] Address6Loopback(NetInterface i, uint seq, uint port)
    {
        var p = new List<byte>(80) { (byte)InetAddr.AF_INET6, 128, IFA_F_PERMANENT, RT_SCOPE_HOST };
        p.AddRange(U32(i.Index));
        byte[] loopback = new byte[16];
        loopback[15] = 1;
        Attr(p, 1, loopback); // IFA_ADDRESS
        Attr(p, 6, CacheInfo()); // IFA_CACHEINFO
        Attr(p, 8, U32(IFA_F_PERMANENT)); // IFA_FLAGS
        Attr(p, 11, [1]); // IFA_PROTO
        return Message(RTM_NEWADDR, NLM_F_MULTI, seq, port, p);
    }

    // struct ifa_cacheinfo of a permanent address: preferred and valid lifetimes forever; no creation stamps kept.
    private static byte[] CacheInfo()
    {
        byte[] c = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(c, uint.MaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4), uint.MaxValue);
        return c;
    }

    /// <summary>
    /// The RTM_NEWROUTE messages of a dump of <paramref name="family"/> (0: IPv4, then IPv6): IPv4's main table
    /// (the default route, then each Ethernet interface's subnet) and local table (the loopback's subnet, each
    /// address, each subnet's broadcast), each table in the order of its trie (by destination, then length);
    /// IPv6's local ::1.
    /// </summary>
    public static List<byte[]> Routes(NetInterfaces n, byte family, uint seq, uint port)
    {
        var list = new List<byte[]>();
        if (family is 0 or InetAddr.AF_INET)
        {
            if (n.GatewayIndex != 0)
            {
                var p = Rtmsg(InetAddr.AF_INET, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST);
                Attr(p, 15, U32(RT_TABLE_MAIN)); // RTA_TABLE
                Attr(p, 5, V4(n.Gateway)); // RTA_GATEWAY
                Attr(p, 4, U32(n.GatewayIndex)); // RTA_OIF
                list.Add(Message(RTM_NEWROUTE, NLM_F_MULTI, seq, port, p));
            }

            var main = new List<Route4>();
            var local = new List<Route4>();
            foreach (NetInterface i in n.Interfaces)
            {
                if (i.Loopback)
                {
                    local.Add(new Route4(i.Network, i.Prefix, RTN_LOCAL, RT_SCOPE_HOST, i));
                }
                else
                {
                    main.Add(new Route4(i.Network, i.Prefix, RTN_UNICAST, RT_SCOPE_LINK, i));
                }

                local.Add(new Route4(i.Address, 32, RTN_LOCAL, RT_SCOPE_HOST, i));
                if (i.Prefix < 31)
                {
                    local.Add(new Route4(i.Broadcast, 32, RTN_BROADCAST, RT_SCOPE_LINK, i));
                }
            }

            Comparison<Route4> order = (a, b) => a.Dst.Value != b.Dst.Value ? a.Dst.Value.CompareTo(b.Dst.Value) : a.Length.CompareTo(b.Length);
            main.Sort(order);
            local.Sort(order);
            foreach (Route4 r in main)
            {
                list.Add(Connected(r, RT_TABLE_MAIN, seq, port));
            }

            foreach (Route4 r in local)
            {
                list.Add(Connected(r, RT_TABLE_LOCAL, seq, port));
            }
        }

        if (family is 0 or InetAddr.AF_INET6)
        {
            foreach (NetInterface i in n.Interfaces)
            {
                if (i.HasIpv6Loopback)
                {
                    list.Add(Route6Loopback(i, seq, port));
                }
            }
        }

        return list;
    }

    /// <summary>
    /// The answer to a single-route RTM_GETROUTE (`ip route get`) for IPv4 <paramref name="dst"/>, as
    /// inet_rtm_getroute's rt_fill_info writes it: the route the lookup found (local table first: the interfaces'
    /// addresses and lo's subnet are local, on lo; a subnet's broadcast address is broadcast; then eth0's subnet and
    /// the default route), marked cloned, with the asker's uid. Null when no route matches (ENETUNREACH).
    /// </summary>
    public static byte[]? RouteTo(NetInterfaces n, Ip4Address dst, uint uid, uint seq, uint port)
    {
        const uint RTM_F_CLONED = 0x200, RTCF_BROADCAST = 0x10000000, RTCF_LOCAL = 0x80000000;
        NetInterface? lo = null, oif = null;
        Ip4Address source = default, gateway = default;
        byte type = 0;
        foreach (NetInterface i in n.Interfaces)
        {
            lo ??= i.Loopback ? i : null;
        }

        foreach (NetInterface i in n.Interfaces)
        {
            if (!i.Loopback && i.Prefix < 31 && dst == i.Broadcast)
            {
                (type, oif, source) = (RTN_BROADCAST, i, i.Address);
            }
            else if (dst == i.Address || (i.Loopback && dst.InSubnet(i.Address, i.Prefix)))
            {
                (type, oif, source) = (i.Loopback && dst == i.Broadcast ? RTN_BROADCAST : RTN_LOCAL, lo ?? i, i.Address);
            }
            else
            {
                continue;
            }

            break;
        }

        if (type == 0)
        {
            foreach (NetInterface i in n.Interfaces)
            {
                if (!i.Loopback && dst.InSubnet(i.Address, i.Prefix))
                {
                    (type, oif, source) = (RTN_UNICAST, i, i.Address);
                    break;
                }
            }
        }

        if (type == 0 && n.GatewayIndex != 0 && dst == Ip4Address.Broadcast)
        {
            // The limited broadcast leaves by the default route's interface (ip_route_output_key_hash_rcu).
            oif = n.ByIndex(n.GatewayIndex)!;
            (type, source) = (RTN_BROADCAST, oif.Address);
        }
        else if (type == 0 && n.GatewayIndex != 0)
        {
            oif = n.ByIndex(n.GatewayIndex)!;
            (type, source, gateway) = (RTN_UNICAST, oif.Address, n.Gateway);
        }

        if (type == 0 || oif == null)
        {
            return null;
        }

        uint flags = RTM_F_CLONED | (type == RTN_LOCAL ? RTCF_LOCAL : type == RTN_BROADCAST ? RTCF_LOCAL | RTCF_BROADCAST : 0);
        var p = Rtmsg(InetAddr.AF_INET, 32, RT_TABLE_MAIN, 0, RT_SCOPE_UNIVERSE, type);
        BinaryPrimitives.WriteUInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(p)[8..], flags);
        Attr(p, 15, U32(RT_TABLE_MAIN)); // RTA_TABLE
        Attr(p, 1, V4(dst)); // RTA_DST
        Attr(p, 4, U32(oif.Index)); // RTA_OIF
        Attr(p, 7, V4(source)); // RTA_PREFSRC
        if (!gateway.IsUnspecified)
        {
            Attr(p, 5, V4(gateway)); // RTA_GATEWAY
        }

        Attr(p, 25, U32((int)uid)); // RTA_UID
        byte[] cache = new byte[32];
        cache[0] = 2; // rta_clntref: the route's references, as a fresh lookup shows
        Attr(p, 12, cache); // RTA_CACHEINFO
        return Message(RTM_NEWROUTE, 0, seq, port, p);
    }

    private readonly record struct Route4(Ip4Address Dst, int Length, byte Type, byte Scope, NetInterface Nic);

    // A route the kernel made for an address (fib_add_ifaddr): proto kernel, the address as the preferred source.
    private static byte[] Connected(Route4 r, byte table, uint seq, uint port)
    {
        var p = Rtmsg(InetAddr.AF_INET, (byte)r.Length, table, RTPROT_KERNEL, r.Scope, r.Type);
        Attr(p, 15, U32(table)); // RTA_TABLE
        Attr(p, 1, V4(r.Dst)); // RTA_DST
        Attr(p, 7, V4(r.Nic.Address)); // RTA_PREFSRC
        Attr(p, 4, U32(r.Nic.Index)); // RTA_OIF
        return Message(RTM_NEWROUTE, NLM_F_MULTI, seq, port, p);
    }

    // The local route of ::1 (rt6_fill_node): metric 0, medium preference.
    private static byte[] Route6Loopback(NetInterface i, uint seq, uint port)
    {
        var p = Rtmsg(InetAddr.AF_INET6, 128, RT_TABLE_LOCAL, RTPROT_KERNEL, RT_SCOPE_UNIVERSE, RTN_LOCAL);
        byte[] loopback = new byte[16];
        loopback[15] = 1;
        Attr(p, 15, U32(RT_TABLE_LOCAL)); // RTA_TABLE
        Attr(p, 1, loopback); // RTA_DST
        Attr(p, 6, U32(0)); // RTA_PRIORITY
        Attr(p, 4, U32(i.Index)); // RTA_OIF
        Attr(p, 12, new byte[32]); // RTA_CACHEINFO
        Attr(p, 20, [0]); // RTA_PREF: medium
        return Message(RTM_NEWROUTE, NLM_F_MULTI, seq, port, p);
    }

    // struct rtmsg.
    private static List<byte> Rtmsg(int family, byte dstLen, byte table, byte protocol, byte scope, byte type) =>
        new(96) { (byte)family, dstLen, 0, 0, table, protocol, scope, type, 0, 0, 0, 0 };

    /// <summary>A whole message: nlmsghdr, then <paramref name="payload"/>, padded to 4 bytes.</summary>
    public static byte[] Message(ushort type, ushort flags, uint seq, uint port, ReadOnlySpan<byte> payload)
    {
        int len = HeaderSize + payload.Length;
        byte[] m = new byte[Align(len)];
        BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)len);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), seq);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), port);
        payload.CopyTo(m.AsSpan(HeaderSize));
        return m;
    }

    private static byte[] Message(ushort type, ushort flags, uint seq, uint port, List<byte> payload) =>
        Message(type, flags, seq, port, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(payload));

    public static int Align(int n) => (n + 3) & ~3;

    private static byte[] V4(Ip4Address a)
    {
        byte[] b = new byte[4];
        a.Write(b);
        return b;
    }

    private static byte[] U32(int v)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, v);
        return b;
    }

    private static void Attr(List<byte> p, ushort type, ReadOnlySpan<byte> data)
    {
        int len = 4 + data.Length;
        Span<byte> h = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)len);
        BinaryPrimitives.WriteUInt16LittleEndian(h[2..], type);
        p.AddRange(h);
        p.AddRange(data);
        for (int i = len; i < Align(len); i++)
        {
            p.Add(0);
        }
    }

    /// <summary>The value of attribute <paramref name="type"/> among <paramref name="attrs"/>, or empty.</summary>
    public static ReadOnlySpan<byte> FindAttr(ReadOnlySpan<byte> attrs, ushort type)
    {
        while (attrs.Length >= 4)
        {
            int len = BinaryPrimitives.ReadUInt16LittleEndian(attrs);
            if (len < 4 || len > attrs.Length)
            {
                break;
            }

            if ((BinaryPrimitives.ReadUInt16LittleEndian(attrs[2..]) & 0x3FFF) == type)
            {
                return attrs[4..len];
            }

            attrs = attrs[Math.Min(Align(len), attrs.Length)..];
        }

        return default;
    }
}
