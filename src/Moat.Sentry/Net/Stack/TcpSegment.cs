using System;
using System.Buffers.Binary;

namespace Moat.Sentry.Net.Stack;

/// <summary>TCP header flags.</summary>
internal static class TcpFlags
{
    public const byte Fin = 0x01;
    public const byte Syn = 0x02;
    public const byte Rst = 0x04;
    public const byte Psh = 0x08;
    public const byte Ack = 0x10;
    public const byte Urg = 0x20;
}

/// <summary>Sequence-number arithmetic modulo 2^32 (RFC 793 3.3).</summary>
internal static class Seq
{
    public static bool Lt(uint a, uint b) => (int)(a - b) < 0;

    public static bool Leq(uint a, uint b) => (int)(a - b) <= 0;

    public static bool Gt(uint a, uint b) => (int)(a - b) > 0;

    public static bool Geq(uint a, uint b) => (int)(a - b) >= 0;

    public static uint Max(uint a, uint b) => Gt(a, b) ? a : b;

    /// <summary>a &lt;= x &lt; b.</summary>
    public static bool InRange(uint x, uint a, uint b) => Leq(a, x) && Lt(x, b);
}

/// <summary>The four numbers that name a connection, from this stack's side.</summary>
internal readonly record struct TcpKey(IpAddress LocalAddress, ushort LocalPort, IpAddress RemoteAddress, ushort RemotePort);

/// <summary>A parsed TCP segment: header fields, options (RFC 793, 7323, 2018) and where its payload lies.</summary>
internal struct TcpSegment
{
    public const int HeaderLength = 20;
    public const int MaxSackBlocks = 4;

    public ushort SourcePort;
    public ushort DestinationPort;
    public uint Seq;
    public uint Ack;
    public byte Flags;
    public ushort Window;
    public int DataOffset;
    public int DataLength;

    /// <summary>MSS option, or -1.</summary>
    public int Mss;

    /// <summary>Window-scale option's shift, or -1.</summary>
    public int WindowScale;
    public bool SackPermitted;
    public bool HasTimestamp;
    public uint TsVal;
    public uint TsEcr;
    public int SackCount;
    public SackBlocks Sacks;

    /// <summary>
    /// A coalesced segment (GRO: the host's TSO frame taken whole): the size of the segments it stands for, set
    /// by the receive path from <see cref="PacketBuffer.GsoSize"/>; 0 for one segment.
    /// </summary>
    public int GsoSize;

    public readonly bool Has(byte flag) => (Flags & flag) != 0;

    /// <summary>Sequence space the segment occupies: its data, plus one for SYN and for FIN.</summary>
    public readonly int SegmentLength => DataLength + (Has(TcpFlags.Syn) ? 1 : 0) + (Has(TcpFlags.Fin) ? 1 : 0);

    [System.Runtime.CompilerServices.InlineArray(MaxSackBlocks * 2)]
    public struct SackBlocks
    {
        private uint _element0;
    }

    /// <summary>Parses a segment (the span starts at the TCP header); false for a malformed one.</summary>
    public static bool TryParse(ReadOnlySpan<byte> t, out TcpSegment s)
    {
        s = default;
        s.Mss = -1;
        s.WindowScale = -1;
        if (t.Length < HeaderLength)
        {
            return false;
        }
        int hlen = (t[12] >> 4) * 4;
        if (hlen < HeaderLength || hlen > t.Length)
        {
            return false;
        }
        s.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(t);
        s.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(t[2..]);
        s.Seq = BinaryPrimitives.ReadUInt32BigEndian(t[4..]);
        s.Ack = BinaryPrimitives.ReadUInt32BigEndian(t[8..]);
        s.Flags = (byte)(t[13] & 0x3F);
        s.Window = BinaryPrimitives.ReadUInt16BigEndian(t[14..]);
        s.DataOffset = hlen;
        s.DataLength = t.Length - hlen;
        ReadOnlySpan<byte> o = t[HeaderLength..hlen];
        while (o.Length > 0)
        {
            byte kind = o[0];
            if (kind == 0)
            {
                break;
            }
            if (kind == 1)
            {
                o = o[1..];
                continue;
            }
            if (o.Length < 2 || o[1] < 2 || o[1] > o.Length)
            {
                break; // a malformed option ends the list; the segment itself is still good
            }
            int len = o[1];
            switch (kind)
            {
                case 2 when len == 4:
                    s.Mss = BinaryPrimitives.ReadUInt16BigEndian(o[2..]);
                    break;
                case 3 when len == 3:
                    s.WindowScale = Math.Min((int)o[2], 14);
                    break;
                case 4 when len == 2:
                    s.SackPermitted = true;
                    break;
                case 5 when len >= 10 && (len - 2) % 8 == 0:
                    s.SackCount = Math.Min((len - 2) / 8, MaxSackBlocks);
                    for (int i = 0; i < s.SackCount; i++)
                    {
                        s.Sacks[2 * i] = BinaryPrimitives.ReadUInt32BigEndian(o[(2 + (8 * i))..]);
                        s.Sacks[(2 * i) + 1] = BinaryPrimitives.ReadUInt32BigEndian(o[(6 + (8 * i))..]);
                    }
                    break;
                case 8 when len == 10:
                    s.HasTimestamp = true;
                    s.TsVal = BinaryPrimitives.ReadUInt32BigEndian(o[2..]);
                    s.TsEcr = BinaryPrimitives.ReadUInt32BigEndian(o[6..]);
                    break;
            }
            o = o[len..];
        }
        return true;
    }

    /// <summary>Checksum over the pseudo-header and the whole segment; zero when it is right.</summary>
    public static ushort ComputeChecksum(IpAddress src, IpAddress dst, ReadOnlySpan<byte> segment) =>
        Checksum.Finish(Checksum.Add(Checksum.PseudoHeader(src, dst, Ipv4Header.ProtocolTcp, segment.Length), segment));

    /// <summary>
    /// The field of a segment whose checksum is left to the device (Linux's __tcp_v4_send_check with
    /// CHECKSUM_PARTIAL): the folded pseudo-header sum, not complemented.
    /// </summary>
    public static ushort PartialChecksum(IpAddress src, IpAddress dst, int length) =>
        (ushort)~Checksum.Finish(Checksum.PseudoHeader(src, dst, Ipv4Header.ProtocolTcp, length));
}
