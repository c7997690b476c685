using System;
using System.Buffers.Binary;
using Moat.Abi;

namespace Moat.Sentry.Net;

/// <summary>
/// An internet socket address: an IPv6 address (IPv4 addresses in their mapped form ::ffff:a.b.c.d) and a
/// port. The address is kept as a big-endian 128-bit number, so it compares and copies as a value.
/// </summary>
internal readonly record struct InetAddr(UInt128 Ip, ushort Port)
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int SockaddrInSize = 16;
    public const int SockaddrIn6Size = 28;

    private static readonly UInt128 MappedPrefix = new(0, 0x0000FFFF00000000UL);

    /// <summary>0.0.0.0 in mapped form.</summary>
    public static readonly UInt128 V4Any = MappedPrefix;

    /// <summary>127.0.0.1 in mapped form.</summary>
    public static readonly UInt128 V4Loopback = MappedPrefix | 0x7F000001u;

    /// <summary>::1.</summary>
    public static readonly UInt128 V6Loopback = 1;

    public static UInt128 FromV4(uint hostOrder) => MappedPrefix | hostOrder;

    /// <summary>Whether the address is IPv4 (::ffff:0:0/96).</summary>
    public bool IsV4 => (Ip >> 32) == (MappedPrefix >> 32);

    /// <summary>The IPv4 address in host order (only for <see cref="IsV4"/>).</summary>
    public uint V4 => (uint)(Ip & 0xFFFFFFFF);

    /// <summary>0.0.0.0 or ::.</summary>
    public bool IsAny => Ip == 0 || Ip == V4Any;

    /// <summary>127.0.0.0/8 or ::1: the addresses of the loopback interface.</summary>
    public bool IsLoopback => IsV4 ? (V4 >> 24) == 127 : Ip == V6Loopback;

    public InetAddr WithPort(ushort port) => new(Ip, port);

    /// <summary>
    /// Reads a sockaddr_in or sockaddr_in6 of a socket of <paramref name="family"/>. An AF_INET6 socket takes only
    /// sockaddr_in6; an AF_INET socket takes sockaddr_in (and AF_UNSPEC, when <paramref name="unspecIsAny"/>, as bind
    /// does for INADDR_ANY). Returns 0 or -errno as Linux's inet and inet6 checks answer.
    /// </summary>
    public static long Parse(ReadOnlySpan<byte> b, int family, bool unspecIsAny, out InetAddr addr)
    {
        addr = default;
        if (b.Length < 2)
        {
            return -Errno.EINVAL.Value;
        }

        int af = BinaryPrimitives.ReadUInt16LittleEndian(b);
        if (family == AF_INET)
        {
            if (b.Length < SockaddrInSize)
            {
                return -Errno.EINVAL.Value;
            }

            if (af != AF_INET && !(af == 0 && unspecIsAny && BinaryPrimitives.ReadUInt32BigEndian(b[4..]) == 0))
            {
                return -Errno.EAFNOSUPPORT.Value;
            }

            addr = new InetAddr(FromV4(BinaryPrimitives.ReadUInt32BigEndian(b[4..])), BinaryPrimitives.ReadUInt16BigEndian(b[2..]));
            return 0;
        }

        if (b.Length < 24)
        {
            return -Errno.EINVAL.Value;
        }

        if (af != AF_INET6)
        {
            return -Errno.EAFNOSUPPORT.Value;
        }

        addr = new InetAddr(BinaryPrimitives.ReadUInt128BigEndian(b[8..]), BinaryPrimitives.ReadUInt16BigEndian(b[2..]));
        return 0;
    }

    /// <summary>Writes this address as a socket of <paramref name="family"/> reports it; returns its length.</summary>
    public int Encode(int family, Span<byte> b)
    {
        if (family == AF_INET)
        {
            b[..SockaddrInSize].Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(b, AF_INET);
            BinaryPrimitives.WriteUInt16BigEndian(b[2..], Port);
            BinaryPrimitives.WriteUInt32BigEndian(b[4..], V4);
            return SockaddrInSize;
        }

        b[..SockaddrIn6Size].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, AF_INET6);
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], Port);
        BinaryPrimitives.WriteUInt128BigEndian(b[8..], Ip);
        return SockaddrIn6Size;
    }

    /// <summary>The address in /proc/net/tcp's form: the IPv4 address as a host-order word, or the IPv6 address as four.</summary>
    public string ProcHex(bool v6)
    {
        if (!v6)
        {
            return BinaryPrimitives.ReverseEndianness(V4).ToString("X8") + ":" + Port.ToString("X4");
        }

        Span<byte> be = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(be, Ip);
        var s = new System.Text.StringBuilder(38);
        for (int i = 0; i < 16; i += 4)
        {
            s.Append(BinaryPrimitives.ReadUInt32LittleEndian(be[i..]).ToString("X8"));
        }

        return s.Append(':').Append(Port.ToString("X4")).ToString();
    }
}
