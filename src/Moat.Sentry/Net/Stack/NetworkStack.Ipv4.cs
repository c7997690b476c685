using System;
using System.Buffers.Binary;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>The link and IPv4 layers: frames in, datagrams demultiplexed; datagrams out, fragmented and framed.</summary>
internal sealed partial class NetworkStack
{
    internal const ushort EtherTypeIpv4 = 0x0800;
    internal const ushort EtherTypeArp = 0x0806;
    internal const int EthernetHeaderLength = 14;

    private readonly FragmentReassembler _reassembly;

    private void HandleFrameLocked(Nic nic, PacketBuffer p)
    {
        nic.CountLocked(received: true, p.Span);
        if (PacketEndpoints.Count != 0)
        {
            TapReceivedLocked(nic, p.Span);
        }

        if (nic.Link.Kind == LinkKind.Ethernet)
        {
            if (p.Length < EthernetHeaderLength)
            {
                p.Release();
                return;
            }
            Span<byte> eth = p.Span;
            var dst = MacAddress.Read(eth);
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(eth[12..]);
            if (dst != nic.Link.Address && dst != MacAddress.Broadcast)
            {
                p.Release();
                return;
            }
            p.TrimFront(EthernetHeaderLength);
            if (type == EtherTypeArp)
            {
                HandleArpLocked(nic, p);
                return;
            }
            if (type == EtherTypeIpv6)
            {
                HandleIpv6Locked(nic, p);
                return;
            }
            if (type != EtherTypeIpv4)
            {
                p.Release();
                return;
            }
        }
        else if (p.Length > 0 && (p.Span[0] >> 4) == 6)
        {
            HandleIpv6Locked(nic, p);
            return;
        }
        HandleIpv4Locked(nic, p);
    }

    private void HandleIpv4Locked(Nic nic, PacketBuffer p)
    {
        Stats.IpInReceives++;
        if (!Ipv4Header.TryParse(p.Span, out Ipv4Header h))
        {
            Stats.IpInHdrErrors++;
            p.Release();
            return;
        }
        // This stack is a host, not a router: only datagrams for one of its addresses (or broadcast) are taken.
        bool forUs = IsLocalAddressLocked(h.Destination) || h.Destination == Ip4Address.Broadcast
            || h.Destination == nic.BroadcastAddress;
        if (!forUs)
        {
            // ip_route_input on a host that does not forward.
            Stats.IpInAddrErrors++;
            p.Release();
            return;
        }
        p.NetworkStart = p.Start;
        p.Truncate(h.TotalLength);
        if (h.IsFragment)
        {
            Stats.IpReasmReqds++;
            PacketBuffer? whole = _reassembly.AddLocked(h, p);
            if (whole == null)
            {
                return;
            }
            p = whole;
            Ipv4Header.TryParse(p.Span, out h);
            p.NetworkStart = p.Start;
        }
        p.Source = h.Source;
        p.Destination = h.Destination;
        p.Ttl = h.Ttl;
        p.Tos = h.Tos;
        bool rawTaken = RawEndpoints.Count != 0 && DeliverRawLocked(h, p.Span);
        p.TrimFront(h.HeaderLength);
        // ip_protocol_deliver_rcu: delivered to a protocol or a raw socket, else an unknown protocol.
        if (rawTaken || h.Protocol is Ipv4Header.ProtocolTcp or Ipv4Header.ProtocolUdp or Ipv4Header.ProtocolIcmp)
        {
            Stats.IpInDelivers++;
        }
        else
        {
            Stats.IpInUnknownProtos++;
        }

        switch (h.Protocol)
        {
            case Ipv4Header.ProtocolTcp:
                HandleTcpLocked(nic, p);
                break;
            case Ipv4Header.ProtocolUdp:
                HandleUdpLocked(nic, p, h.Destination == Ip4Address.Broadcast || h.Destination == nic.BroadcastAddress);
                break;
            case Ipv4Header.ProtocolIcmp:
                HandleIcmpLocked(nic, p);
                break;
            default:
                if (!rawTaken)
                {
                    SendIcmpErrorLocked(p, IcmpType.DestinationUnreachable, IcmpType.CodeProtocolUnreachable);
                }

                p.Release();
                break;
        }
    }

    /// <summary>
    /// Sends the transport packet in <paramref name="p"/> (its view: transport header and payload) from
    /// <paramref name="src"/> to <paramref name="dst"/> along <paramref name="route"/>, fragmenting when it is
    /// larger than the MTU and <paramref name="dontFragment"/> is false. Takes ownership of <paramref name="p"/>.
    /// </summary>
    internal Errno SendIpLocked(in Route route, Ip4Address src, Ip4Address dst, byte protocol, PacketBuffer p,
        bool dontFragment, byte tos = 0, byte ttl = Ipv4Header.DefaultTtl)
    {
        int mtu = route.Nic.Mtu;
        Stats.IpOutRequests++;
        if (protocol == Ipv4Header.ProtocolIcmp && p.Length > 0)
        {
            Stats.CountIcmpOut(p.Span[0]);
        }

        var h = new Ipv4Header
        {
            Tos = tos,
            Id = NextIpIdLocked(),
            Ttl = ttl,
            Protocol = protocol,
            Source = src,
            Destination = dst,
        };
        // A TSO segment (GsoSize set) goes whole: the device cuts it into MTU-sized ones.
        if (p.Length + Ipv4Header.MinLength <= mtu || (p.GsoSize > 0 && p.Length + Ipv4Header.MinLength <= ushort.MaxValue))
        {
            h.TotalLength = p.Length + Ipv4Header.MinLength;
            h.FlagsAndOffset = dontFragment ? Ipv4Header.FlagDontFragment : (ushort)0;
            h.Write(p.Prepend(Ipv4Header.MinLength));
            Stats.IpOutTransmits++;
            return WriteToLinkLocked(route, p);
        }
        if (dontFragment)
        {
            Stats.IpFragFails++;
            p.Release();
            return Errno.EMSGSIZE;
        }
        // Fragments carry a multiple of 8 bytes each, except the last.
        int chunk = (mtu - Ipv4Header.MinLength) & ~7;
        ReadOnlySpan<byte> payload = p.Span;
        Errno err = Errno.None;
        for (int off = 0; off < payload.Length; off += chunk)
        {
            int n = Math.Min(chunk, payload.Length - off);
            PacketBuffer f = PacketBuffer.Rent(n + Ipv4Header.MinLength);
            payload.Slice(off, n).CopyTo(f.Append(n));
            h.TotalLength = n + Ipv4Header.MinLength;
            h.FlagsAndOffset = (ushort)((off / 8) | (off + n < payload.Length ? Ipv4Header.FlagMoreFragments : 0));
            h.Write(f.Prepend(Ipv4Header.MinLength));
            Stats.IpFragCreates++;
            Stats.IpOutTransmits++;
            Errno e = WriteToLinkLocked(route, f);
            if (e != Errno.None)
            {
                err = e;
            }
        }
        Stats.IpFragOks++;
        p.Release();
        return err;
    }

    /// <summary>Frames an IP packet for its link (resolving the next hop by ARP on Ethernet) and writes it.</summary>
    private Errno WriteToLinkLocked(in Route route, PacketBuffer p)
    {
        ILinkEndpoint link = route.Nic.Link;
        if (link.Kind == LinkKind.Ip)
        {
            if (PacketEndpoints.Count != 0)
            {
                TapSentLocked(route.Nic, p.Span);
            }

            route.Nic.CountLocked(received: false, p.Span);
            link.WritePacket(p);
            return Errno.None;
        }
        if (route.NextHop == Ip4Address.Broadcast || route.NextHop == route.Nic.BroadcastAddress)
        {
            WriteEthernetLocked(route.Nic, MacAddress.Broadcast, EtherTypeIpv4, p);
            return Errno.None;
        }
        if (Arp.TryResolveLocked(route.Nic, route.NextHop, p, out MacAddress mac))
        {
            WriteEthernetLocked(route.Nic, mac, EtherTypeIpv4, p);
        }
        return Errno.None; // queued behind an ARP request otherwise; a failed resolution reports later
    }

    internal static void WriteEthernetLocked(Nic nic, MacAddress dst, ushort type, PacketBuffer p)
    {
        Span<byte> eth = p.Prepend(EthernetHeaderLength);
        dst.Write(eth);
        nic.Link.Address.Write(eth[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(eth[12..], type);
        if (nic.Stack.PacketEndpoints.Count != 0)
        {
            nic.Stack.TapSentLocked(nic, p.Span);
        }

        nic.CountLocked(received: false, p.Span);
        nic.Link.WritePacket(p);
    }
}
