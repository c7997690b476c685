using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>Raw IPv4 sockets: a copy of each datagram delivered here to those of its protocol, and headers the caller wrote.</summary>
internal sealed partial class NetworkStack
{
    // Protected by Mu. Empty unless raw sockets are open: the receive path checks its count first.
    internal readonly List<RawEndpoint> RawEndpoints = [];

    public RawEndpoint CreateRaw(byte protocol) => new(this, protocol);

    /// <summary>
    /// Gives each matching raw endpoint a copy of a datagram delivered to this host (<paramref name="datagram"/>:
    /// header and payload, reassembled). Returns whether one took it: Linux then sends no protocol-unreachable.
    /// </summary>
    private bool DeliverRawLocked(in Ipv4Header h, ReadOnlySpan<byte> datagram)
    {
        bool taken = false;
        foreach (RawEndpoint ep in RawEndpoints)
        {
            if (ep.MatchesLocked(h, datagram))
            {
                ep.DeliverLocked(datagram, h.Source);
                taken = true;
            }
        }

        return taken;
    }

    /// <summary>
    /// Sends a datagram whose header the caller wrote (IP_HDRINCL) along <paramref name="route"/>, completing the
    /// header as Linux's raw_send_hdrinc does when it is at least 20 bytes: total length and checksum always,
    /// source (<paramref name="src"/>) and id when zero. A shorter header goes out as written. Never fragmented.
    /// </summary>
    internal Errno SendRawDatagramLocked(in Route route, Ip4Address src, ReadOnlySpan<byte> data)
    {
        if (data.Length < Ipv4Header.MinLength)
        {
            return Errno.EINVAL;
        }

        int ihl = (data[0] & 0xF) * 4;
        if (ihl > data.Length)
        {
            return Errno.EINVAL;
        }

        if (data.Length > route.Nic.Mtu)
        {
            return Errno.EMSGSIZE;
        }

        PacketBuffer p = PacketBuffer.Rent(data.Length);
        Span<byte> d = p.Append(data.Length);
        data.CopyTo(d);
        if (ihl >= Ipv4Header.MinLength)
        {
            if (BinaryPrimitives.ReadUInt32BigEndian(d[12..]) == 0)
            {
                src.Write(d[12..]);
            }

            BinaryPrimitives.WriteUInt16BigEndian(d[2..], (ushort)data.Length);
            if (BinaryPrimitives.ReadUInt16BigEndian(d[4..]) == 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(d[4..], NextIpIdLocked());
            }

            d[10] = 0;
            d[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(d[10..], Checksum.Compute(d[..ihl]));
        }

        Stats.IpOutRequests++;
        Stats.IpOutTransmits++;
        if (ihl >= Ipv4Header.MinLength && d[9] == Ipv4Header.ProtocolIcmp && data.Length > ihl)
        {
            Stats.CountIcmpOut(d[ihl]);
        }

        return WriteToLinkLocked(route, p);
    }
}
