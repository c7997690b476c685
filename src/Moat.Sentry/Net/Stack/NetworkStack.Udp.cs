using System.Buffers.Binary;
using System.Collections.Generic;

namespace Moat.Sentry.Net.Stack;

internal sealed partial class NetworkStack
{
    internal const int UdpHeaderLength = 8;

    private void HandleUdpLocked(Nic nic, PacketBuffer p, bool broadcast)
    {
        System.Span<byte> u = p.Span;
        if (u.Length < UdpHeaderLength)
        {
            Stats.UdpInErrors++;
            p.Release();
            return;
        }
        ushort srcPort = BinaryPrimitives.ReadUInt16BigEndian(u);
        ushort dstPort = BinaryPrimitives.ReadUInt16BigEndian(u[2..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(u[4..]);
        ushort sum = BinaryPrimitives.ReadUInt16BigEndian(u[6..]);
        if (length < UdpHeaderLength || length > u.Length)
        {
            Stats.UdpInErrors++;
            p.Release();
            return;
        }
        p.Truncate(length);
        // A zero checksum means the sender computed none (allowed for UDP over IPv4, never over IPv6).
        if (!p.ChecksumPartial && (sum != 0 || !p.Destination.IsV4) && Checksum.Finish(Checksum.Add(Checksum.PseudoHeader(p.Source, p.Destination, Ipv4Header.ProtocolUdp, length), p.Span)) != 0)
        {
            Stats.UdpInCsumErrors++;
            Stats.UdpInErrors++;
            p.Release();
            return;
        }
        UdpEndpoint? ep = FindUdpLocked(p.Destination, dstPort, p.Source, srcPort, connectedOnly: false);
        if (ep == null)
        {
            Stats.UdpNoPorts++;
            if (!broadcast && p.Destination.IsV4)
            {
                SendIcmpErrorLocked(p, IcmpType.DestinationUnreachable, IcmpType.CodePortUnreachable);
            }
            else if (!p.Destination.IsV4)
            {
                SendIcmpv6ErrorLocked(p, Icmpv6Type.DestinationUnreachable, Icmpv6Type.CodePortUnreachable);
            }
            p.Release();
            return;
        }
        p.SourcePort = srcPort;
        p.TrimFront(UdpHeaderLength);
        ep.DeliverLocked(p);
    }

    /// <summary>
    /// The endpoint that receives a datagram for local (<paramref name="local"/>, <paramref name="localPort"/>)
    /// from (<paramref name="remote"/>, <paramref name="remotePort"/>): the most specific match wins, as in
    /// Linux's udp4_lib_lookup scoring (a connected endpoint before a bound one before a wildcard).
    /// </summary>
    internal UdpEndpoint? FindUdpLocked(IpAddress local, ushort localPort, IpAddress remote, ushort remotePort, bool connectedOnly)
    {
        if (!UdpPorts.TryGetValue(localPort, out List<UdpEndpoint>? list))
        {
            return null;
        }
        UdpEndpoint? best = null;
        int bestScore = int.MinValue;
        foreach (UdpEndpoint ep in list)
        {
            int score = 0;
            if (!ep.LocalAddress.Accepts(local, ep.V6Only))
            {
                continue;
            }
            if (!ep.LocalAddress.IsUnspecified)
            {
                score += 2;
            }
            if (ep.IsV6 != !local.IsV4)
            {
                score -= 1; // Linux's compute_score prefers a socket of the datagram's own family
            }
            if (ep.Connected)
            {
                if (ep.RemoteAddress != remote || ep.RemotePort != remotePort)
                {
                    continue;
                }
                score += 4;
            }
            else if (connectedOnly)
            {
                continue;
            }
            if (score > bestScore)
            {
                best = ep;
                bestScore = score;
            }
        }
        return best;
    }
}
