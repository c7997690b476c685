using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace Moat.Host;

/// <summary>An interface of the caller's network namespace, as RTM_GETLINK and RTM_GETADDR list it.</summary>
public sealed record HostInterface(int Index, string Name, byte[] Mac, int Mtu, uint Flags, IReadOnlyList<HostIpv4Address> Addresses)
{
    public const uint IFF_UP = 0x1;
    public const uint IFF_LOOPBACK = 0x8;

    public bool IsUp => (Flags & IFF_UP) != 0;

    public bool IsLoopback => (Flags & IFF_LOOPBACK) != 0;
}

/// <summary>An IPv4 address of an interface: the address as a number (10.0.0.2 is 0x0A000002) and its prefix length.</summary>
public readonly record struct HostIpv4Address(uint Address, int Prefix);

/// <summary>An IPv4 route of the main table: destination/prefix (0/0 for the default), gateway (0: on-link), interface.</summary>
public readonly record struct HostIpv4Route(uint Destination, int Prefix, uint Gateway, int Index, byte Protocol, byte Scope);

/// <summary>
/// A small NETLINK_ROUTE client for oci-boot, in a pod's network namespace before the Sentry starts: lists the
/// links, IPv4 addresses and IPv4 routes, and removes (and puts back) an interface's IPv4 addresses, as runsc does
/// when it takes an interface over for its stack. Every call returns Linux's raw convention: 0, or -errno.
/// </summary>
public static class HostLinks
{
    private const int AF_NETLINK = 16;
    private const int AF_INET = 2;
    private const int SOCK_RAW = 3;
    private const int NETLINK_ROUTE = 0;
    private const int HeaderSize = 16;
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_ACK = 0x4;
    private const ushort NLM_F_DUMP = 0x300;
    private const ushort NLM_F_EXCL = 0x200;
    private const ushort NLM_F_CREATE = 0x400;
    private const ushort RTM_NEWLINK = 16;
    private const ushort RTM_GETLINK = 18;
    private const ushort RTM_NEWADDR = 20;
    private const ushort RTM_DELADDR = 21;
    private const ushort RTM_GETADDR = 22;
    private const ushort RTM_NEWROUTE = 24;
    private const ushort RTM_GETROUTE = 26;
    private const ushort IFLA_ADDRESS = 1;
    private const ushort IFLA_IFNAME = 3;
    private const ushort IFLA_MTU = 4;
    private const ushort IFA_ADDRESS = 1;
    private const ushort IFA_LOCAL = 2;
    private const ushort RTA_DST = 1;
    private const ushort RTA_OIF = 4;
    private const ushort RTA_GATEWAY = 5;
    private const ushort RTA_TABLE = 15;
    private const byte RT_TABLE_MAIN = 254;
    private const byte RTN_UNICAST = 1;
    private const int ReplyTimeoutMs = 2000;

    /// <summary>The namespace's interfaces with their IPv4 addresses, in index order; null with -errno.</summary>
    public static List<HostInterface>? Interfaces(out long error)
    {
        var links = new List<(int Index, string Name, byte[] Mac, int Mtu, uint Flags)>();
        error = Dump(RTM_GETLINK, 16, (type, body) =>
        {
            if (type != RTM_NEWLINK || body.Length < 16)
            {
                return;
            }

            int index = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
            string name = string.Empty;
            byte[] mac = [];
            int mtu = 0;
            foreach ((ushort t, int start, int length) in Attributes(body, 16))
            {
                ReadOnlySpan<byte> v = body.Slice(start, length);
                switch (t)
                {
                    case IFLA_IFNAME:
                        name = Encoding.ASCII.GetString(v.IndexOf((byte)0) is int z and >= 0 ? v[..z] : v);
                        break;
                    case IFLA_ADDRESS:
                        mac = v.ToArray();
                        break;
                    case IFLA_MTU when v.Length >= 4:
                        mtu = BinaryPrimitives.ReadInt32LittleEndian(v);
                        break;
                }
            }

            links.Add((index, name, mac, mtu, flags));
        });
        if (error < 0)
        {
            return null;
        }

        var addresses = new List<(int Index, HostIpv4Address Address)>();
        error = Dump(RTM_GETADDR, 8, (type, body) =>
        {
            if (type != RTM_NEWADDR || body.Length < 8 || body[0] != AF_INET)
            {
                return;
            }

            int prefix = body[1];
            int index = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
            uint? local = null, address = null;
            foreach ((ushort t, int start, int length) in Attributes(body, 8))
            {
                if (length == 4 && t is IFA_LOCAL or IFA_ADDRESS)
                {
                    uint a = BinaryPrimitives.ReadUInt32BigEndian(body.Slice(start, 4));
                    if (t == IFA_LOCAL)
                    {
                        local = a;
                    }
                    else
                    {
                        address = a;
                    }
                }
            }

            // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on a point-to-point link).
            if ((local ?? address) is uint own)
            {
                addresses.Add((index, new HostIpv4Address(own, prefix)));
            }
        }, AF_INET);
        if (error < 0)
        {
            return null;
        }

        var list = new List<HostInterface>();
        foreach (var l in links)
        {
            var mine = new List<HostIpv4Address>();
            foreach (var a in addresses)
            {
                if (a.Index == l.Index)
                {
                    mine.Add(a.Address);
                }
            }

            list.Add(new HostInterface(l.Index, l.Name, l.Mac, l.Mtu, l.Flags, mine));
        }

        list.Sort((a, b) => a.Index.CompareTo(b.Index));
        return list;
    }

    /// <summary>The namespace's IPv4 unicast routes of the main table; null with -errno.</summary>
    public static List<HostIpv4Route>? Routes(out long error)
    {
        var routes = new List<HostIpv4Route>();
        error = Dump(RTM_GETROUTE, 12, (type, body) =>
        {
            if (type != RTM_NEWROUTE || body.Length < 12 || body[0] != AF_INET || body[7] != RTN_UNICAST)
            {
                return;
            }

            int table = body[4];
            uint dst = 0, gateway = 0;
            int oif = 0;
            foreach ((ushort t, int start, int length) in Attributes(body, 12))
            {
                ReadOnlySpan<byte> v = body.Slice(start, length);
                switch (t)
                {
                    case RTA_DST when length == 4:
                        dst = BinaryPrimitives.ReadUInt32BigEndian(v);
                        break;
                    case RTA_GATEWAY when length == 4:
                        gateway = BinaryPrimitives.ReadUInt32BigEndian(v);
                        break;
                    case RTA_OIF when length == 4:
                        oif = BinaryPrimitives.ReadInt32LittleEndian(v);
                        break;
                    case RTA_TABLE when length == 4:
                        table = BinaryPrimitives.ReadInt32LittleEndian(v);
                        break;
                }
            }

            if (table == RT_TABLE_MAIN)
            {
                routes.Add(new HostIpv4Route(dst, body[1], gateway, oif, body[5], body[6]));
            }
        }, AF_INET);
        return error < 0 ? null : routes;
    }

    /// <summary>Removes IPv4 address <paramref name="a"/> from interface <paramref name="index"/> (the routes through it go too).</summary>
    public static long DeleteAddress(int index, HostIpv4Address a) => ChangeAddress(RTM_DELADDR, 0, index, a);

    /// <summary>Gives interface <paramref name="index"/> IPv4 address <paramref name="a"/> (again).</summary>
    public static long AddAddress(int index, HostIpv4Address a) => ChangeAddress(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, a);

    /// <summary>Adds route <paramref name="r"/> to the main table (again).</summary>
    public static long AddRoute(HostIpv4Route r)
    {
        Span<byte> m = stackalloc byte[HeaderSize + 12 + (3 * 8)];
        m.Clear();
        int n = HeaderSize;
        m[n] = AF_INET;
        m[n + 1] = (byte)r.Prefix;
        m[n + 4] = RT_TABLE_MAIN;
        m[n + 5] = r.Protocol;
        m[n + 6] = r.Scope;
        m[n + 7] = RTN_UNICAST;
        n += 12;
        if (r.Prefix > 0)
        {
            n = PutAddress(m, n, RTA_DST, r.Destination);
        }

        if (r.Gateway != 0)
        {
            n = PutAddress(m, n, RTA_GATEWAY, r.Gateway);
        }

        n = PutAttribute(m, n, RTA_OIF, r.Index);
        return Change(m[..n], RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    }

    private static long ChangeAddress(ushort type, ushort flags, int index, HostIpv4Address a)
    {
        Span<byte> m = stackalloc byte[HeaderSize + 8 + (2 * 8)];
        m.Clear();
        int n = HeaderSize;
        m[n] = AF_INET;
        m[n + 1] = (byte)a.Prefix;
        BinaryPrimitives.WriteInt32LittleEndian(m[(n + 4)..], index);
        n += 8;
        n = PutAddress(m, n, IFA_LOCAL, a.Address);
        n = PutAddress(m, n, IFA_ADDRESS, a.Address);
        return Change(m[..n], type, flags);
    }

    private static int PutAddress(Span<byte> m, int n, ushort type, uint address)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(m[n..], 8);
        BinaryPrimitives.WriteUInt16LittleEndian(m[(n + 2)..], type);
        BinaryPrimitives.WriteUInt32BigEndian(m[(n + 4)..], address);
        return n + 8;
    }

    private static int PutAttribute(Span<byte> m, int n, ushort type, int value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(m[n..], 8);
        BinaryPrimitives.WriteUInt16LittleEndian(m[(n + 2)..], type);
        BinaryPrimitives.WriteInt32LittleEndian(m[(n + 4)..], value);
        return n + 8;
    }

    // Sends a change (the header is filled in here) and waits for its acknowledgement: 0 or the kernel's -errno.
    private static long Change(Span<byte> message, ushort type, ushort flags)
    {
        WriteHeader(message, type, (ushort)(NLM_F_REQUEST | NLM_F_ACK | flags));
        return Exchange(message, (_, _) => { });
    }

    // A dump of one kind (its request body: bodySize zero bytes but the family), each message handed to onMessage.
    private static long Dump(ushort type, int bodySize, MessageHandler onMessage, byte family = 0)
    {
        Span<byte> m = stackalloc byte[HeaderSize + 16];
        m.Clear();
        m[HeaderSize] = family;
        WriteHeader(m[..(HeaderSize + bodySize)], type, NLM_F_REQUEST | NLM_F_DUMP);
        return Exchange(m[..(HeaderSize + bodySize)], onMessage);
    }

    private delegate void MessageHandler(ushort type, ReadOnlySpan<byte> body);

    private static void WriteHeader(Span<byte> m, ushort type, ushort flags)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)m.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(m[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(m[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(m[8..], 1);
    }

    // Sends one request and reads the answer until its NLMSG_DONE or NLMSG_ERROR (an acknowledgement is an error 0).
    private static long Exchange(ReadOnlySpan<byte> request, MessageHandler onMessage)
    {
        using SafeFdHandle? fd = HostNet.Socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, out long error);
        if (fd == null)
        {
            return error;
        }

        long r = HostNet.Send(fd, request, 0, default);
        if (r < 0)
        {
            return r;
        }

        byte[] buffer = new byte[65536];
        Span<HostPoll.PollFd> poll = stackalloc HostPoll.PollFd[1];
        while (true)
        {
            r = HostNet.Receive(fd, buffer, 0, default, out _);
            if (r == -11 /* EAGAIN */)
            {
                poll[0] = new HostPoll.PollFd { Fd = fd.Fd, Events = 1 /* POLLIN */ };
                if (HostPoll.Poll(poll, ReplyTimeoutMs) <= 0)
                {
                    return -110; // ETIMEDOUT
                }

                continue;
            }

            if (r <= 0)
            {
                return r < 0 ? r : -5; // EIO
            }

            ReadOnlySpan<byte> d = buffer.AsSpan(0, (int)r);
            for (int off = 0; off + HeaderSize <= d.Length;)
            {
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(d[off..]);
                if (len < HeaderSize || len > d.Length - off)
                {
                    break;
                }

                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(d[(off + 4)..]);
                ReadOnlySpan<byte> body = d.Slice(off + HeaderSize, len - HeaderSize);
                if (type == NLMSG_DONE)
                {
                    return 0;
                }

                if (type == NLMSG_ERROR)
                {
                    return body.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(body) : -5;
                }

                onMessage(type, body);
                off += (len + 3) & ~3;
            }
        }
    }

    // The attributes after a message's fixed header: (type, offset, length) of each value.
    private static List<(ushort Type, int Start, int Length)> Attributes(ReadOnlySpan<byte> body, int fixedSize)
    {
        var list = new List<(ushort, int, int)>();
        for (int off = fixedSize; off + 4 <= body.Length;)
        {
            int len = BinaryPrimitives.ReadUInt16LittleEndian(body[off..]);
            if (len < 4 || len > body.Length - off)
            {
                break;
            }

            list.Add(((ushort)(BinaryPrimitives.ReadUInt16LittleEndian(body[(off + 2)..]) & 0x3FFF), off + 4, len - 4));
            off += (len + 3) & ~3;
        }

        return list;
    }
}
