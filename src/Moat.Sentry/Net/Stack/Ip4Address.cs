using System;
using System.Buffers.Binary;

namespace Moat.Sentry.Net.Stack;

/// <summary>An IPv4 address as its 32-bit value in host order (10.0.0.1 is 0x0A000001).</summary>
internal readonly record struct Ip4Address(uint Value)
{
    public static readonly Ip4Address Any = new(0);
    public static readonly Ip4Address Broadcast = new(0xFFFFFFFF);
    public static readonly Ip4Address Loopback = new(0x7F000001);

    public static Ip4Address Parse(string s)
    {
        string[] parts = s.Split('.');
        if (parts.Length != 4)
        {
            throw new FormatException(s);
        }
        uint v = 0;
        foreach (string p in parts)
        {
            v = (v << 8) | byte.Parse(p, System.Globalization.CultureInfo.InvariantCulture);
        }
        return new Ip4Address(v);
    }

    public static Ip4Address Read(ReadOnlySpan<byte> b) => new(BinaryPrimitives.ReadUInt32BigEndian(b));

    public void Write(Span<byte> b) => BinaryPrimitives.WriteUInt32BigEndian(b, Value);

    public bool IsUnspecified => Value == 0;

    public bool IsMulticastOrBroadcast => (Value >> 28) == 0xE || Value == 0xFFFFFFFF;

    public bool InSubnet(Ip4Address network, int prefix) =>
        prefix == 0 || (Value >> (32 - prefix)) == (network.Value >> (32 - prefix));

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 255}.{(Value >> 8) & 255}.{Value & 255}";
}

/// <summary>An Ethernet address in the low 48 bits, first octet most significant.</summary>
internal readonly record struct MacAddress(ulong Value)
{
    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFF);
    public static readonly MacAddress Zero = new(0);

    public static MacAddress Read(ReadOnlySpan<byte> b) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(b) << 32) | BinaryPrimitives.ReadUInt32BigEndian(b[2..]));

    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(b[2..], (uint)Value);
    }

    public override string ToString() =>
        $"{(Value >> 40) & 255:x2}:{(Value >> 32) & 255:x2}:{(Value >> 24) & 255:x2}:{(Value >> 16) & 255:x2}:{(Value >> 8) & 255:x2}:{Value & 255:x2}";
}
