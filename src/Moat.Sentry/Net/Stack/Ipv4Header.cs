using System;
using System.Buffers.Binary;

namespace Moat.Sentry.Net.Stack;

/// <summary>The fields of an IPv4 header (RFC 791) and their encoding.</summary>
internal struct Ipv4Header
{
    public const int MinLength = 20;
    public const byte ProtocolIcmp = 1;
    public const byte ProtocolTcp = 6;
    public const byte ProtocolUdp = 17;
    public const byte ProtocolRaw = 255;
    public const ushort FlagDontFragment = 0x4000;
    public const ushort FlagMoreFragments = 0x2000;
    public const byte DefaultTtl = 64;

    public int HeaderLength;
    public int TotalLength;
    public byte Tos;
    public ushort Id;
    public ushort FlagsAndOffset;
    public byte Ttl;
    public byte Protocol;
    public Ip4Address Source;
    public Ip4Address Destination;

    public readonly bool MoreFragments => (FlagsAndOffset & FlagMoreFragments) != 0;

    public readonly bool DontFragment => (FlagsAndOffset & FlagDontFragment) != 0;

    /// <summary>Fragment offset in bytes.</summary>
    public readonly int FragmentOffset => (FlagsAndOffset & 0x1FFF) * 8;

    public readonly bool IsFragment => MoreFragments || FragmentOffset != 0;

    /// <summary>Parses and validates a header (version, lengths, checksum); false means drop the packet.</summary>
    public static bool TryParse(ReadOnlySpan<byte> p, out Ipv4Header h)
    {
        h = default;
        if (p.Length < MinLength || (p[0] >> 4) != 4)
        {
            return false;
        }
        h.HeaderLength = (p[0] & 0xF) * 4;
        h.TotalLength = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (h.HeaderLength < MinLength || h.TotalLength < h.HeaderLength || h.TotalLength > p.Length)
        {
            return false;
        }
        if (Checksum.Compute(p[..h.HeaderLength]) != 0)
        {
            return false;
        }
        h.Tos = p[1];
        h.Id = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        h.FlagsAndOffset = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
        h.Ttl = p[8];
        h.Protocol = p[9];
        h.Source = Ip4Address.Read(p[12..]);
        h.Destination = Ip4Address.Read(p[16..]);
        return true;
    }

    /// <summary>Writes a 20-byte header (no options) with its checksum.</summary>
    public readonly void Write(Span<byte> p)
    {
        p[0] = 0x45;
        p[1] = Tos;
        BinaryPrimitives.WriteUInt16BigEndian(p[2..], (ushort)TotalLength);
        BinaryPrimitives.WriteUInt16BigEndian(p[4..], Id);
        BinaryPrimitives.WriteUInt16BigEndian(p[6..], FlagsAndOffset);
        p[8] = Ttl;
        p[9] = Protocol;
        p[10] = 0;
        p[11] = 0;
        Source.Write(p[12..]);
        Destination.Write(p[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(p[10..], Checksum.Compute(p[..MinLength]));
    }
}
