using System;
using System.Buffers.Binary;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// IPv6 (RFC 8200) on the loopback: the fixed header in and out, and the ICMPv6 (RFC 4443) a loopback needs
/// (echo replies, port unreachable for closed UDP ports and its errno for the sender). The only IPv6 address
/// is ::1; there is no NDP, no extension header and no fragmentation yet (a datagram larger than the link's
/// MTU is EMSGSIZE). IPv4-mapped addresses never reach this layer: their traffic is IPv4.
/// </summary>
internal sealed partial class NetworkStack
{
    internal const ushort EtherTypeIpv6 = 0x86DD;
    internal const int Ipv6HeaderLength = 40;
    internal const byte ProtocolIcmpv6 = 58;
    internal const byte DefaultHopLimit = 64;

    // RFC 4443 2.4(c): an error quotes as much of the packet as fits in the minimum MTU.
    private const int Icmpv6ErrorMaxQuote = 1280 - Ipv6HeaderLength - IcmpType.HeaderLength;

    private void HandleIpv6Locked(Nic nic, PacketBuffer p)
    {
        Stats.Ip6InReceives++;
        ReadOnlySpan<byte> h = p.Span;
        if (h.Length < Ipv6HeaderLength || (h[0] >> 4) != 6)
        {
            Stats.Ip6InDiscards++;
            p.Release();
            return;
        }
        int payload = BinaryPrimitives.ReadUInt16BigEndian(h[4..]);
        var dst = IpAddress.Read6(h[24..]);
        if (Ipv6HeaderLength + payload > h.Length || !IsLocalAddressLocked(dst))
        {
            Stats.Ip6InDiscards++;
            p.Release();
            return;
        }
        byte next = h[6];
        p.NetworkStart = p.Start;
        p.Source = IpAddress.Read6(h[8..]);
        p.Destination = dst;
        p.Ttl = h[7];
        p.Tos = (byte)(BinaryPrimitives.ReadUInt16BigEndian(h) >> 4);
        p.Truncate(Ipv6HeaderLength + payload);
        p.TrimFront(Ipv6HeaderLength);
        switch (next)
        {
            case Ipv4Header.ProtocolTcp:
                HandleTcpLocked(nic, p);
                break;
            case Ipv4Header.ProtocolUdp:
                HandleUdpLocked(nic, p, broadcast: false);
                break;
            case ProtocolIcmpv6:
                HandleIcmpv6Locked(p);
                break;
            default:
                p.Release(); // extension headers and other protocols: not handled yet (docs/netstack.md)
                break;
        }
    }

    /// <summary>
    /// Sends a transport packet over IPv6 with the given traffic class and hop limit. Takes ownership of
    /// <paramref name="p"/>. Preconditions: Mu held; <paramref name="route"/> came from RouteLocked for an IPv6
    /// destination.
    /// </summary>
    internal Errno SendIpv6Locked(in Route route, IpAddress src, IpAddress dst, byte nextHeader, PacketBuffer p,
        byte trafficClass = 0, byte hopLimit = DefaultHopLimit)
    {
        if (p.Length + Ipv6HeaderLength > route.Nic.Mtu || p.Length > ushort.MaxValue)
        {
            p.Release();
            return Errno.EMSGSIZE;
        }
        int payload = p.Length;
        Span<byte> h = p.Prepend(Ipv6HeaderLength);
        BinaryPrimitives.WriteUInt32BigEndian(h, (6u << 28) | ((uint)trafficClass << 20));
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)payload);
        h[6] = nextHeader;
        h[7] = hopLimit;
        src.Write6(h[8..]);
        dst.Write6(h[24..]);
        return WriteToLinkLocked(route, p);
    }

    /// <summary>Sends a transport packet over IPv4 or IPv6, after the family of <paramref name="dst"/>.</summary>
    internal Errno SendIpLocked(in Route route, IpAddress src, IpAddress dst, byte protocol, PacketBuffer p,
        bool dontFragment, byte tos = 0, byte ttl = Ipv4Header.DefaultTtl) =>
        dst.IsV4
            ? SendIpLocked(route, src.V4, dst.V4, protocol, p, dontFragment, tos, ttl)
            : SendIpv6Locked(route, src, dst, protocol, p, tos, ttl);

    private void HandleIcmpv6Locked(PacketBuffer p)
    {
        Span<byte> m = p.Span;
        if (m.Length < IcmpType.HeaderLength
            || Checksum.Finish(Checksum.Add(Checksum.PseudoHeader(p.Source, p.Destination, ProtocolIcmpv6, m.Length), m)) != 0)
        {
            p.Release();
            return;
        }
        switch (m[0])
        {
            case Icmpv6Type.EchoRequest:
                m[0] = Icmpv6Type.EchoReply;
                m[2] = 0;
                m[3] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(m[2..],
                    Checksum.Finish(Checksum.Add(Checksum.PseudoHeader(p.Destination, p.Source, ProtocolIcmpv6, m.Length), m)));
                if (RouteLocked(p.Source, out Route r) == Errno.None)
                {
                    Stats.Icmp6OutEchoReplies++;
                    SendIpv6Locked(r, p.Destination, p.Source, ProtocolIcmpv6, p);
                    return;
                }
                break;
            case Icmpv6Type.DestinationUnreachable:
                HandleIcmpv6UnreachableLocked(m[1], m[IcmpType.HeaderLength..]);
                break;
        }
        p.Release();
    }

    /// <summary>Reports an ICMPv6 destination-unreachable to the endpoint whose packet it quotes (Linux's icmpv6_err_convert).</summary>
    private void HandleIcmpv6UnreachableLocked(byte code, ReadOnlySpan<byte> quoted)
    {
        if (quoted.Length < Ipv6HeaderLength + 8 || (quoted[0] >> 4) != 6)
        {
            return;
        }
        byte next = quoted[6];
        var src = IpAddress.Read6(quoted[8..]);
        var dst = IpAddress.Read6(quoted[24..]);
        ReadOnlySpan<byte> t = quoted[Ipv6HeaderLength..];
        ushort srcPort = BinaryPrimitives.ReadUInt16BigEndian(t);
        ushort dstPort = BinaryPrimitives.ReadUInt16BigEndian(t[2..]);
        Errno err = code switch
        {
            Icmpv6Type.CodeNoRoute => Errno.ENETUNREACH,
            Icmpv6Type.CodeAdminProhibited => Errno.EACCES,
            Icmpv6Type.CodePortUnreachable => Errno.ECONNREFUSED,
            _ => Errno.EHOSTUNREACH,
        };
        if (next == Ipv4Header.ProtocolUdp)
        {
            FindUdpLocked(src, srcPort, dst, dstPort, connectedOnly: true)?.SetErrorLocked(err);
        }
        else if (next == Ipv4Header.ProtocolTcp && TcpConnections.TryGetValue(new TcpKey(src, srcPort, dst, dstPort), out TcpEndpoint? ep))
        {
            ep.HandleIcmpErrorLocked(err, BinaryPrimitives.ReadUInt32BigEndian(t[4..]));
        }
    }

    /// <summary>
    /// Sends an ICMPv6 error about the received packet in <paramref name="original"/> (its IPv6 header at
    /// NetworkStart), never about an ICMPv6 error or from a multicast destination. Does not take ownership.
    /// </summary>
    private void SendIcmpv6ErrorLocked(PacketBuffer original, byte type, byte code)
    {
        ReadOnlySpan<byte> ip = original.Data.AsSpan(original.NetworkStart);
        if (ip.Length < Ipv6HeaderLength)
        {
            return;
        }
        int total = Math.Min(ip.Length, Ipv6HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
        var src = IpAddress.Read6(ip[8..]);
        var dst = IpAddress.Read6(ip[24..]);
        if (src.IsUnspecified || src.IsMulticastOrBroadcast || dst.IsMulticastOrBroadcast)
        {
            return;
        }
        if (ip[6] == ProtocolIcmpv6 && total > Ipv6HeaderLength && ip[Ipv6HeaderLength] < 128)
        {
            return; // types below 128 are errors: never an error about an error
        }
        if (RouteLocked(src, out Route r) != Errno.None)
        {
            return;
        }
        int quote = Math.Min(total, Icmpv6ErrorMaxQuote);
        PacketBuffer p = PacketBuffer.Rent(IcmpType.HeaderLength + quote);
        Span<byte> m = p.Append(IcmpType.HeaderLength + quote);
        m[..IcmpType.HeaderLength].Clear();
        m[0] = type;
        m[1] = code;
        ip[..quote].CopyTo(m[IcmpType.HeaderLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(m[2..], Checksum.Finish(Checksum.Add(Checksum.PseudoHeader(dst, src, ProtocolIcmpv6, m.Length), m)));
        Stats.Icmp6OutDestUnreachs++;
        SendIpv6Locked(r, dst, src, ProtocolIcmpv6, p);
    }
}

/// <summary>ICMPv6 message types and codes this stack sends or understands (RFC 4443).</summary>
internal static class Icmpv6Type
{
    public const byte DestinationUnreachable = 1;
    public const byte EchoRequest = 128;
    public const byte EchoReply = 129;

    public const byte CodeNoRoute = 0;
    public const byte CodeAdminProhibited = 1;
    public const byte CodePortUnreachable = 4;
}
