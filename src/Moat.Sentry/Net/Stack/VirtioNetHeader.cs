using System;
using System.Buffers.Binary;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// struct virtio_net_hdr (include/uapi/linux/virtio_net.h), the 10 bytes in front of every frame on a TAP device
/// opened with IFF_VNET_HDR: how the host asks for a checksum to be completed (NEEDS_CSUM) and how a frame
/// carries a TCP segment larger than the MTU that is to be cut into <see cref="GsoSize"/>-byte pieces (GSO).
/// Little-endian on x86 (tun_is_little_endian: legacy virtio is native-endian).
/// </summary>
internal struct VirtioNetHeader
{
    public const int Length = 10;

    /// <summary>The checksum from <see cref="CsumStart"/> to the end is left to the receiver; its field holds the pseudo-header sum.</summary>
    public const byte FlagNeedsCsum = 1;

    /// <summary>The host checked the checksum (its skb was CHECKSUM_UNNECESSARY).</summary>
    public const byte FlagDataValid = 2;

    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;
    public const byte GsoUdp = 3;
    public const byte GsoTcpV6 = 4;
    public const byte GsoUdpL4 = 5;
    public const byte GsoEcn = 0x80;

    public byte Flags;
    public byte GsoType;

    /// <summary>Bytes of headers (Ethernet, IP, TCP) in front of the payload each GSO segment repeats.</summary>
    public ushort HdrLen;

    /// <summary>Payload bytes per segment (the MSS) of a GSO frame.</summary>
    public ushort GsoSize;

    /// <summary>Where (from the frame's start) the checksummed bytes begin, and the checksum field's offset from there.</summary>
    public ushort CsumStart;
    public ushort CsumOffset;

    public readonly bool NeedsCsum => (Flags & FlagNeedsCsum) != 0;

    public readonly bool DataValid => (Flags & FlagDataValid) != 0;

    /// <summary>The GSO type without the ECN bit.</summary>
    public readonly byte GsoKind => (byte)(GsoType & ~GsoEcn);

    /// <summary>
    /// Applies a received frame's header to its buffer: a partial or host-checked checksum is trusted (the bytes
    /// came from the host's memory, as Linux's CHECKSUM_PARTIAL and CHECKSUM_UNNECESSARY are), and a TCPv4 GSO
    /// frame is one coalesced segment of <see cref="GsoSize"/>-byte pieces. False (drop it) for a GSO kind the
    /// stack did not ask the host for.
    /// </summary>
    public readonly bool ApplyTo(PacketBuffer p)
    {
        p.ChecksumPartial = NeedsCsum || DataValid;
        switch (GsoKind)
        {
            case GsoNone:
                return true;
            case GsoTcpV4 when GsoSize > 0:
                p.GsoSize = GsoSize;
                return true;
            default:
                return false;
        }
    }

    public static VirtioNetHeader Read(ReadOnlySpan<byte> b) => new()
    {
        Flags = b[0],
        GsoType = b[1],
        HdrLen = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]),
        GsoSize = BinaryPrimitives.ReadUInt16LittleEndian(b[4..]),
        CsumStart = BinaryPrimitives.ReadUInt16LittleEndian(b[6..]),
        CsumOffset = BinaryPrimitives.ReadUInt16LittleEndian(b[8..]),
    };

    public readonly void Write(Span<byte> b)
    {
        b[0] = Flags;
        b[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], HdrLen);
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], CsumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], CsumOffset);
    }

    /// <summary>
    /// The header for an outgoing Ethernet frame: zero (a complete frame) unless the stack left a TCP or UDP
    /// checksum to the device (<paramref name="checksumPartial"/>, the field holding the pseudo-header sum), or
    /// the frame is a TCP segment of more than <paramref name="gsoSize"/> payload bytes for the host to cut.
    /// </summary>
    public static VirtioNetHeader ForFrame(ReadOnlySpan<byte> frame, bool checksumPartial, int gsoSize)
    {
        var h = default(VirtioNetHeader);
        if (!checksumPartial || frame.Length < NetworkStack.EthernetHeaderLength + Ipv4Header.MinLength
            || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != NetworkStack.EtherTypeIpv4)
        {
            return h;
        }
        ReadOnlySpan<byte> ip = frame[NetworkStack.EthernetHeaderLength..];
        int ihl = (ip[0] & 0xF) * 4;
        int l4 = NetworkStack.EthernetHeaderLength + ihl;
        byte protocol = ip[9];
        if (protocol == Ipv4Header.ProtocolTcp && frame.Length >= l4 + TcpSegment.HeaderLength)
        {
            h.Flags = FlagNeedsCsum;
            h.CsumStart = (ushort)l4;
            h.CsumOffset = 16;
            int tcpHeader = (frame[l4 + 12] >> 4) * 4;
            if (gsoSize > 0 && frame.Length - l4 - tcpHeader > gsoSize)
            {
                h.GsoType = GsoTcpV4;
                h.GsoSize = (ushort)gsoSize;
                h.HdrLen = (ushort)(l4 + tcpHeader);
            }
        }
        else if (protocol == Ipv4Header.ProtocolUdp && frame.Length >= l4 + 8)
        {
            h.Flags = FlagNeedsCsum;
            h.CsumStart = (ushort)l4;
            h.CsumOffset = 6;
        }
        return h;
    }
}
