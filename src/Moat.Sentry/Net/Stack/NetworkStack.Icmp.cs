using System;
using System.Buffers.Binary;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>ICMPv4 message types and codes this stack sends or understands (RFC 792).</summary>
internal static class IcmpType
{
    public const byte EchoReply = 0;
    public const byte DestinationUnreachable = 3;
    public const byte EchoRequest = 8;
    public const byte TimeExceeded = 11;

    public const byte CodeNetUnreachable = 0;
    public const byte CodeHostUnreachable = 1;
    public const byte CodeProtocolUnreachable = 2;
    public const byte CodePortUnreachable = 3;
    public const byte CodeFragmentationNeeded = 4;
    public const byte CodeReassemblyTimeExceeded = 1;

    public const int HeaderLength = 8;
}

internal sealed partial class NetworkStack
{
    // RFC 1812: an error quotes as much of the datagram as fits in 576 bytes.
    private const int IcmpErrorMaxQuote = 576 - Ipv4Header.MinLength - IcmpType.HeaderLength;

    private void HandleIcmpLocked(Nic nic, PacketBuffer p)
    {
        Span<byte> m = p.Span;
        // icmp_rcv's counters: every message, then a bad checksum or a short one as an error, else its type.
        Stats.IcmpInMsgs++;
        if (m.Length < IcmpType.HeaderLength || Checksum.Compute(m) != 0)
        {
            if (m.Length >= IcmpType.HeaderLength)
            {
                Stats.IcmpInCsumErrors++;
            }
            Stats.IcmpInErrors++;
            p.Release();
            return;
        }
        Stats.IcmpInTypes[m[0]]++;
        switch (m[0])
        {
            case IcmpType.EchoRequest:
                if (p.Destination.IsMulticastOrBroadcast || p.Destination == nic.BroadcastAddress)
                {
                    p.Release(); // Linux's icmp_echo_ignore_broadcasts
                    return;
                }
                // The reply is the request with its type changed, sent back in the same buffer.
                m[0] = IcmpType.EchoReply;
                m[2] = 0;
                m[3] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(m[2..], Checksum.Compute(m));
                if (RouteLocked(p.Source, out Route r) == Errno.None)
                {
                    SendIpLocked(r, p.Destination, p.Source, Ipv4Header.ProtocolIcmp, p, dontFragment: false);
                }
                else
                {
                    p.Release();
                }
                return;
            case IcmpType.EchoReply:
                ushort id = BinaryPrimitives.ReadUInt16BigEndian(m[4..]);
                if (Pings.TryGetValue(id, out PingEndpoint? ping))
                {
                    ping.DeliverLocked(p);
                    return;
                }
                break;
            case IcmpType.DestinationUnreachable:
                HandleDestinationUnreachableLocked(m[1], m[IcmpType.HeaderLength..]);
                break;
        }
        p.Release();
    }

    /// <summary>Reports an ICMP destination-unreachable to the endpoint whose datagram it quotes.</summary>
    private void HandleDestinationUnreachableLocked(byte code, ReadOnlySpan<byte> quoted)
    {
        if (quoted.Length < Ipv4Header.MinLength + 8 || (quoted[0] >> 4) != 4)
        {
            return;
        }
        int ihl = (quoted[0] & 0xF) * 4;
        if (quoted.Length < ihl + 8)
        {
            return;
        }
        byte proto = quoted[9];
        var src = Ip4Address.Read(quoted[12..]);
        var dst = Ip4Address.Read(quoted[16..]);
        ushort srcPort = BinaryPrimitives.ReadUInt16BigEndian(quoted[ihl..]);
        ushort dstPort = BinaryPrimitives.ReadUInt16BigEndian(quoted[(ihl + 2)..]);
        // Linux's icmp_err_convert for the codes that map to a hard error.
        Errno err = code switch
        {
            IcmpType.CodeNetUnreachable => Errno.ENETUNREACH,
            IcmpType.CodeHostUnreachable => Errno.EHOSTUNREACH,
            IcmpType.CodeProtocolUnreachable => Errno.ENOPROTOOPT,
            IcmpType.CodePortUnreachable => Errno.ECONNREFUSED,
            IcmpType.CodeFragmentationNeeded => Errno.EMSGSIZE,
            _ => Errno.EHOSTUNREACH,
        };
        if (proto == Ipv4Header.ProtocolUdp)
        {
            UdpEndpoint? ep = FindUdpLocked(src, srcPort, dst, dstPort, connectedOnly: true); // without IP_RECVERR, as Linux
            ep?.SetErrorLocked(err);
        }
        else if (proto == Ipv4Header.ProtocolTcp)
        {
            if (TcpConnections.TryGetValue(new TcpKey(src, srcPort, dst, dstPort), out TcpEndpoint? ep))
            {
                uint seq = BinaryPrimitives.ReadUInt32BigEndian(quoted[(ihl + 4)..]);
                ep.HandleIcmpErrorLocked(err, seq);
            }
        }
    }

    /// <summary>
    /// Sends an ICMP error about the received datagram in <paramref name="original"/> (its network header is at
    /// NetworkStart), unless the rules of RFC 1122 3.2.2 forbid one. Does not take ownership.
    /// </summary>
    internal void SendIcmpErrorLocked(PacketBuffer original, byte type, byte code)
    {
        ReadOnlySpan<byte> ip = original.Data.AsSpan(original.NetworkStart);
        if (ip.Length < Ipv4Header.MinLength)
        {
            return;
        }
        int ihl = (ip[0] & 0xF) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        ushort frag = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        var src = Ip4Address.Read(ip[12..]);
        var dst = Ip4Address.Read(ip[16..]);
        if ((frag & 0x1FFF) != 0 || src.IsUnspecified || src.IsMulticastOrBroadcast || dst.IsMulticastOrBroadcast)
        {
            return;
        }
        if (ip[9] == Ipv4Header.ProtocolIcmp && ip.Length > ihl && ip[ihl] != IcmpType.EchoRequest && ip[ihl] != IcmpType.EchoReply)
        {
            return; // never an error about an error
        }
        if (RouteLocked(src, out Route r) != Errno.None)
        {
            return;
        }
        int quote = Math.Min(Math.Min(total, ip.Length), IcmpErrorMaxQuote);
        PacketBuffer p = PacketBuffer.Rent(IcmpType.HeaderLength + quote);
        Span<byte> m = p.Append(IcmpType.HeaderLength + quote);
        m[..IcmpType.HeaderLength].Clear();
        m[0] = type;
        m[1] = code;
        ip[..quote].CopyTo(m[IcmpType.HeaderLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(m[2..], Checksum.Compute(m));
        Ip4Address from = IsLocalAddressLocked(dst) ? dst : r.Source.V4;
        SendIpLocked(r, from, src, Ipv4Header.ProtocolIcmp, p, dontFragment: false, tos: 0xC0);
    }
}
