using System;
using System.Buffers.Binary;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>Hand-made IPv4/TCP packets for tests that play a misbehaving peer.</summary>
internal static class TcpSegmentBuilder
{
    public static PacketBuffer Build(Ip4Address src, Ip4Address dst, ushort srcPort, ushort dstPort, uint seq, uint ack, byte flags,
        ReadOnlySpan<byte> data = default, ushort window = 65535)
    {
        PacketBuffer p = PacketBuffer.Rent(20 + data.Length);
        Span<byte> t = p.Append(20 + data.Length);
        t.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(t, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], ack);
        t[12] = 5 << 4;
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t[14..], window);
        data.CopyTo(t[20..]);
        BinaryPrimitives.WriteUInt16BigEndian(t[16..], TcpSegment.ComputeChecksum(src, dst, t));
        var h = new Ipv4Header
        {
            TotalLength = 20 + t.Length,
            Ttl = 64,
            Protocol = Ipv4Header.ProtocolTcp,
            Source = src,
            Destination = dst,
        };
        h.Write(p.Prepend(20));
        return p;
    }

    /// <summary>The TCP header of an IP-link packet (no link header).</summary>
    public static TcpSegment Parse(PacketBuffer p, out int payload)
    {
        ReadOnlySpan<byte> s = p.Span;
        int ihl = (s[0] & 0xF) * 4;
        Assert.True(TcpSegment.TryParse(s[ihl..], out TcpSegment seg));
        payload = seg.DataLength;
        return seg;
    }
}
