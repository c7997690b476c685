using System;
using System.Buffers.Binary;

namespace Moat.Sentry.Net.Stack;

/// <summary>The Internet checksum (RFC 1071): a ones'-complement sum of 16-bit big-endian words.</summary>
internal static class Checksum
{
    /// <summary>Adds <paramref name="data"/> to a running 32-bit sum (not yet folded).</summary>
    public static uint Add(uint sum, ReadOnlySpan<byte> data)
    {
        ulong s = sum;
        int i = 0;
        // Eight bytes at a time: the carries collect in the upper half of the 64-bit sum.
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong w = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            s += (w >> 32) + (w & 0xFFFF_FFFF);
        }
        for (; i + 2 <= data.Length; i += 2)
        {
            s += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (i < data.Length)
        {
            s += (uint)data[i] << 8;
        }
        while ((s >> 32) != 0)
        {
            s = (s & 0xFFFF_FFFF) + (s >> 32);
        }
        return (uint)s;
    }

    /// <summary>Folds a running sum into the 16-bit ones'-complement checksum field value.</summary>
    public static ushort Finish(uint sum)
    {
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }

    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>The sum of the IPv4 pseudo-header that TCP and UDP checksums cover.</summary>
    public static uint PseudoHeader(Ip4Address src, Ip4Address dst, byte protocol, int length) =>
        (src.Value >> 16) + (src.Value & 0xFFFF) + (dst.Value >> 16) + (dst.Value & 0xFFFF) + protocol + (uint)length;

    /// <summary>
    /// The pseudo-header sum for either family: IPv4's for two IPv4 addresses, else IPv6's (RFC 8200 8.1:
    /// both addresses, the upper-layer length and the next-header value).
    /// </summary>
    public static uint PseudoHeader(IpAddress src, IpAddress dst, byte protocol, int length)
    {
        if (src.IsV4 && dst.IsV4)
        {
            return PseudoHeader(src.V4, dst.V4, protocol, length);
        }
        ulong s = (ulong)protocol + (uint)length;
        UInt128 a = src.Value, b = dst.Value;
        for (int i = 0; i < 8; i++)
        {
            s += (ulong)(a & 0xFFFF) + (ulong)(b & 0xFFFF);
            a >>= 16;
            b >>= 16;
        }
        while ((s >> 32) != 0)
        {
            s = (s & 0xFFFF_FFFF) + (s >> 32);
        }
        return (uint)s;
    }
}
