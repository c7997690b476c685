using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

internal sealed partial class NetworkStack
{
    private void HandleTcpLocked(Nic nic, PacketBuffer p)
    {
        ReadOnlySpan<byte> t = p.Span;
        if (p.Destination == nic.BroadcastAddress || p.Destination.IsMulticastOrBroadcast)
        {
            p.Release();
            return;
        }
        // tcp_v4_rcv: a malformed segment is an input error, a bad checksum a checksum error as well.
        bool parsed = TcpSegment.TryParse(t, out TcpSegment s);
        if (!parsed || (!p.ChecksumPartial && TcpSegment.ComputeChecksum(p.Source, p.Destination, t) != 0))
        {
            if (parsed)
            {
                Stats.TcpInCsumErrors++;
            }
            Stats.TcpInErrs++;
            p.Release();
            return;
        }
        Stats.TcpInSegs++;
        s.GsoSize = p.GsoSize;
        var key = new TcpKey(p.Destination, s.DestinationPort, p.Source, s.SourcePort);
        if (TcpConnections.TryGetValue(key, out TcpEndpoint? ep))
        {
            ep.HandleSegmentLocked(s, t.Slice(s.DataOffset, s.DataLength), p.PayloadFrom);
        }
        else if (FindListenerLocked(p.Destination, s.DestinationPort) is TcpEndpoint listener)
        {
            listener.HandleListenSegmentLocked(s, p.Source, p.Destination);
        }
        else
        {
            SendResetForLocked(p.Source, p.Destination, s);
        }
        p.Release();
    }

    private TcpEndpoint? FindListenerLocked(IpAddress local, ushort port)
    {
        if (!TcpPorts.TryGetValue(port, out List<TcpEndpoint>? list))
        {
            return null;
        }
        // An exact address first, then a wildcard of the segment's own family, then a dual-stack :: (as
        // Linux's compute_score ranks them).
        TcpEndpoint? wildcard = null;
        foreach (TcpEndpoint ep in list)
        {
            if (ep.IsListeningLocked && ep.Key.LocalAddress.Accepts(local, ep.V6Only))
            {
                if (ep.Key.LocalAddress == local)
                {
                    return ep;
                }
                if (wildcard == null || ep.IsV6 == !local.IsV4)
                {
                    wildcard = ep;
                }
            }
        }
        return wildcard;
    }

    /// <summary>
    /// Answers a segment that belongs to no connection with a RST (RFC 793 p. 65): SEQ=SEG.ACK if it had an
    /// ACK, else SEQ=0 with ACK=SEG.SEQ+SEG.LEN. Never answers a RST.
    /// </summary>
    internal void SendResetForLocked(IpAddress remote, IpAddress local, in TcpSegment s)
    {
        if (s.Has(TcpFlags.Rst) || RouteLocked(remote, out Route r) != Errno.None)
        {
            return;
        }
        PacketBuffer p = PacketBuffer.Rent(TcpSegment.HeaderLength);
        Span<byte> t = p.Append(TcpSegment.HeaderLength);
        t.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(t, s.DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], s.SourcePort);
        if (s.Has(TcpFlags.Ack))
        {
            BinaryPrimitives.WriteUInt32BigEndian(t[4..], s.Ack);
            t[13] = TcpFlags.Rst;
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(t[8..], s.Seq + (uint)s.SegmentLength);
            t[13] = TcpFlags.Rst | TcpFlags.Ack;
        }
        t[12] = (TcpSegment.HeaderLength / 4) << 4;
        BinaryPrimitives.WriteUInt16BigEndian(t[16..], TcpSegment.ComputeChecksum(local, remote, t));
        Stats.TcpOutRsts++;
        Stats.TcpOutSegs++;
        SendIpLocked(r, local, remote, Ipv4Header.ProtocolTcp, p, dontFragment: true);
    }
}
