using System;
using System.Buffers.Binary;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// An IPv4 or IPv6 address as the transport layers key them: a big-endian 128-bit number with IPv4 addresses
/// in their mapped form ::ffff:a.b.c.d (the form InetAddr and Linux's dual-stack sockets use). The two
/// wildcards stay apart: 0.0.0.0 (<see cref="V4Any"/>) takes IPv4 only, :: (<see cref="V6Any"/>) both families
/// unless the endpoint is IPV6_V6ONLY.
/// </summary>
internal readonly record struct IpAddress(UInt128 Value)
{
    private static readonly UInt128 MappedPrefix = new(0, 0x0000FFFF00000000UL);

    /// <summary>0.0.0.0.</summary>
    public static readonly IpAddress V4Any = new(MappedPrefix);

    /// <summary>::.</summary>
    public static readonly IpAddress V6Any = new(UInt128.Zero);

    /// <summary>::1.</summary>
    public static readonly IpAddress V6Loopback = new(UInt128.One);

    public static implicit operator IpAddress(Ip4Address a) => new(MappedPrefix | a.Value);

    /// <summary>Whether this is an IPv4 address (::ffff:0:0/96).</summary>
    public bool IsV4 => (Value >> 32) == (MappedPrefix >> 32);

    /// <summary>The IPv4 address (only for <see cref="IsV4"/>).</summary>
    public Ip4Address V4 => new((uint)(Value & 0xFFFFFFFF));

    /// <summary>An IPv4 multicast or broadcast address, or an IPv6 multicast one (ff00::/8).</summary>
    public bool IsMulticastOrBroadcast => IsV4 ? V4.IsMulticastOrBroadcast : (Value >> 120) == 0xFF;

    /// <summary>0.0.0.0 or ::.</summary>
    public bool IsUnspecified => Value == UInt128.Zero || Value == MappedPrefix;

    public static IpAddress Read6(ReadOnlySpan<byte> b) => new(BinaryPrimitives.ReadUInt128BigEndian(b));

    public void Write6(Span<byte> b) => BinaryPrimitives.WriteUInt128BigEndian(b, Value);

    /// <summary>
    /// Whether an endpoint bound to this address (on an IPV6_V6ONLY endpoint when <paramref name="v6Only"/>)
    /// takes traffic addressed to <paramref name="destination"/>.
    /// </summary>
    public bool Accepts(IpAddress destination, bool v6Only)
    {
        if (this == destination)
        {
            return true;
        }
        if (this == V4Any)
        {
            return destination.IsV4;
        }
        return Value == UInt128.Zero && !(v6Only && destination.IsV4);
    }

    /// <summary>
    /// Whether two bound addresses share traffic, so that one port cannot hold both (Linux's
    /// inet_rcv_saddr_equal with its wildcard rules for dual-stack and IPV6_V6ONLY sockets).
    /// </summary>
    public static bool Overlap(IpAddress a, bool aV6Only, IpAddress b, bool bV6Only)
    {
        if (a == b)
        {
            return true;
        }
        // A wildcard overlaps each address it accepts; two wildcards of either family overlap when one takes IPv4.
        if (a.IsUnspecified && b.IsUnspecified)
        {
            return (a == V4Any || !aV6Only) && (b == V4Any || !bV6Only);
        }
        return (a.IsUnspecified && a.Accepts(b, aV6Only)) || (b.IsUnspecified && b.Accepts(a, bV6Only));
    }

    public override string ToString()
    {
        if (IsV4)
        {
            return V4.ToString();
        }
        Span<byte> b = stackalloc byte[16];
        Write6(b);
        return new System.Net.IPAddress(b).ToString();
    }
}
