namespace Moat.Sentry.Net.Stack;

/// <summary>
/// The stack's SNMP counters, named as Linux's /proc/net/snmp labels them (Ip, Icmp with its per-type IcmpMsg
/// counts, Tcp, Udp), counted where Linux counts them. Like the Ip and Icmp rows, they are IPv4's; IPv6's few
/// (Linux's snmp6) are apart. Protected by the stack's lock; <see cref="NetworkStack.StatsSnapshot"/> copies them.
/// </summary>
internal sealed class StackStats
{
    public long IpInReceives;
    public long IpInHdrErrors;
    public long IpInAddrErrors;
    public long IpInUnknownProtos;
    public long IpInDiscards;
    public long IpInDelivers;
    public long IpOutRequests;
    public long IpOutNoRoutes;
    public long IpReasmReqds;
    public long IpReasmOks;
    public long IpReasmFails;
    public long IpFragOks;
    public long IpFragFails;
    public long IpFragCreates;
    public long IpOutTransmits;

    public long IcmpInMsgs;
    public long IcmpInErrors;
    public long IcmpInCsumErrors;
    public long IcmpOutMsgs;

    /// <summary>Linux's IcmpMsg InType<i>n</i> and OutType<i>n</i>: messages by ICMP type.</summary>
    public long[] IcmpInTypes { get; private set; } = new long[256];

    public long[] IcmpOutTypes { get; private set; } = new long[256];

    public long TcpActiveOpens;
    public long TcpPassiveOpens;
    public long TcpAttemptFails;
    public long TcpEstabResets;
    public long TcpInSegs;
    public long TcpOutSegs;
    public long TcpRetransSegs;
    public long TcpInErrs;
    public long TcpOutRsts;
    public long TcpInCsumErrors;

    public long UdpInDatagrams;
    public long UdpNoPorts;
    public long UdpInErrors;
    public long UdpOutDatagrams;
    public long UdpRcvbufErrors;
    public long UdpInCsumErrors;

    public long Ip6InReceives;
    public long Ip6InDiscards;
    public long Icmp6OutEchoReplies;
    public long Icmp6OutDestUnreachs;

    public long IcmpOutEchoReps => IcmpOutTypes[IcmpType.EchoReply];

    public long IcmpOutDestUnreachs => IcmpOutTypes[IcmpType.DestinationUnreachable];

    /// <summary>icmp_out_count: an ICMP message of <paramref name="type"/> leaves.</summary>
    public void CountIcmpOut(byte type)
    {
        IcmpOutMsgs++;
        IcmpOutTypes[type]++;
    }

    /// <summary>A copy (the caller holds the stack's lock).</summary>
    public StackStats Copy()
    {
        var c = (StackStats)MemberwiseClone();
        c.IcmpInTypes = (long[])IcmpInTypes.Clone();
        c.IcmpOutTypes = (long[])IcmpOutTypes.Clone();
        return c;
    }
}
