using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// AF_PACKET sockets: the frames of every link, as they are received and as they are sent, go to the packet
/// endpoints that want them; frames the endpoints write go out on their link (or, on the loopback, come back in).
/// </summary>
internal sealed partial class NetworkStack
{
    // Protected by Mu. Empty unless packet sockets are open: the link paths check its count first.
    internal readonly List<PacketEndpoint> PacketEndpoints = [];

    // The Ethernet header Linux's lo shows in front of its packets: zero addresses and the EtherType.
    private static readonly byte[] LoopbackIpv4Header = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
    private static readonly byte[] LoopbackIpv6Header = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xDD];

    public PacketEndpoint CreatePacket(bool cooked, ushort protocol) => new(this, cooked, protocol);

    /// <summary>The interface with index <paramref name="id"/> (the loopback is 1), or null.</summary>
    internal Nic? NicByIdLocked(int id)
    {
        foreach (Nic nic in _nics)
        {
            if (nic.Id == id)
            {
                return nic;
            }
        }

        return null;
    }

    /// <summary>A frame <paramref name="nic"/> received, as its link carries it (bare IP on the loopback).</summary>
    private void TapReceivedLocked(Nic nic, ReadOnlySpan<byte> frame)
    {
        if (nic.Link.Kind == LinkKind.Ip)
        {
            TapLoopbackLocked(nic, frame, PacketEndpoint.PacketHost);
            return;
        }

        if (frame.Length >= EthernetHeaderLength)
        {
            TapFrameLocked(nic, frame, PacketTypeFor(nic, MacAddress.Read(frame)), null);
        }
    }

    /// <summary>A frame the stack is about to write on <paramref name="nic"/>: ETH_P_ALL endpoints see it going out.</summary>
    internal void TapSentLocked(Nic nic, ReadOnlySpan<byte> frame)
    {
        if (nic.Link.Kind == LinkKind.Ip)
        {
            TapLoopbackLocked(nic, frame, PacketEndpoint.PacketOutgoing);
        }
        else if (frame.Length >= EthernetHeaderLength)
        {
            TapFrameLocked(nic, frame, PacketEndpoint.PacketOutgoing, null);
        }
    }

    private void TapLoopbackLocked(Nic nic, ReadOnlySpan<byte> packet, byte pktType)
    {
        bool v6 = packet.Length > 0 && (packet[0] >> 4) == 6;
        ushort type = v6 ? PacketEndpoint.EthPIpv6 : PacketEndpoint.EthPIp;
        var from = new PacketSource(nic.Id, type, PacketEndpoint.ArphrdLoopback, pktType, MacAddress.Zero);
        DeliverFrameLocked(nic, v6 ? LoopbackIpv6Header : LoopbackIpv4Header, packet, from, null);
    }

    // frame: an Ethernet header and its payload.
    private void TapFrameLocked(Nic nic, ReadOnlySpan<byte> frame, byte pktType, PacketEndpoint? except)
    {
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        ushort haType = nic.IsLoopback ? PacketEndpoint.ArphrdLoopback : PacketEndpoint.ArphrdEther;
        var from = new PacketSource(nic.Id, type, haType, pktType, MacAddress.Read(frame[6..]));
        DeliverFrameLocked(nic, frame[..EthernetHeaderLength], frame[EthernetHeaderLength..], from, except);
    }

    private void DeliverFrameLocked(Nic nic, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, in PacketSource from, PacketEndpoint? except)
    {
        bool outgoing = from.PktType == PacketEndpoint.PacketOutgoing;
        foreach (PacketEndpoint ep in PacketEndpoints)
        {
            if (ep != except && ep.MatchesLocked(nic, from.Protocol, outgoing))
            {
                ep.DeliverLocked(header, payload, from);
            }
        }
    }

    // A datagram injected on lo has no route attached (one the stack sends does): Linux's input route lookup then
    // drops 127.0.0.0/8 sources and destinations as martians (net.ipv4.conf.lo.route_localnet is 0).
    private static bool IsMartianOnLoopback(ReadOnlySpan<byte> ip) =>
        ip.Length < Ipv4Header.MinLength || ip[12] == 127 || ip[16] == 127;

    // eth_type_trans's classification of a received frame by its destination.
    private static byte PacketTypeFor(Nic nic, MacAddress dst) =>
        dst == MacAddress.Broadcast ? PacketEndpoint.PacketBroadcast
        : (dst.Value >> 40 & 1) != 0 ? PacketEndpoint.PacketMulticast
        : dst == nic.Link.Address ? PacketEndpoint.PacketHost
        : PacketEndpoint.PacketOtherHost;

    /// <summary>
    /// Sends a frame a packet endpoint wrote (<paramref name="p"/>: Ethernet header and payload; takes ownership):
    /// the other ETH_P_ALL endpoints see it leave; an Ethernet link carries it; the loopback turns it around as
    /// Linux's lo does (every matching endpoint sees it arrive, an IPv4 one for this host goes up the stack).
    /// </summary>
    internal void SendFrameLocked(Nic nic, PacketBuffer p, PacketEndpoint sender)
    {
        ReadOnlySpan<byte> frame = p.Span;
        TapFrameLocked(nic, frame, PacketEndpoint.PacketOutgoing, sender);
        if (nic.Link.Kind == LinkKind.Ethernet)
        {
            nic.CountLocked(received: false, frame);
            nic.Link.WritePacket(p);
            return;
        }

        byte pktType = PacketTypeFor(nic, MacAddress.Read(frame));
        TapFrameLocked(nic, frame, pktType, null);
        if (pktType != PacketEndpoint.PacketOtherHost && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == PacketEndpoint.EthPIp
            && !IsMartianOnLoopback(frame[EthernetHeaderLength..]))
        {
            p.TrimFront(EthernetHeaderLength);
            HandleIpv4Locked(nic, p);
            return;
        }

        p.Release();
    }
}
