using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Sentry.Net.Stack;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// /proc/net/snmp as Linux's snmp_seq_show prints it (what nstat and netstat -s read): label and value lines
/// for Ip, Icmp, IcmpMsg (only the types seen, 16 to a line), Tcp, Udp and UdpLite, from the netstack's
/// counters (<see cref="StackStats"/>); all zeros without a netstack (--network=host shows none of the host's).
/// </summary>
internal static class ProcNetSnmp
{
    // icmpmsg_put prints at most this many counters on one pair of lines.
    private const int IcmpMsgPerLine = 16;

    public static string Render(StackStats? s, long currEstab)
    {
        s ??= new StackStats();
        var sb = new StringBuilder();
        Row(sb, "Ip", "Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits",
            2, Ipv4Header.DefaultTtl, s.IpInReceives, s.IpInHdrErrors, s.IpInAddrErrors, 0, s.IpInUnknownProtos, s.IpInDiscards, s.IpInDelivers, s.IpOutRequests, 0, s.IpOutNoRoutes,
            0, s.IpReasmReqds, s.IpReasmOks, s.IpReasmFails, s.IpFragOks, s.IpFragFails, s.IpFragCreates, s.IpOutTransmits);

        // icmp_put: the per-type columns are the IcmpMsg counts of their types.
        long[] i = s.IcmpInTypes, o = s.IcmpOutTypes;
        Row(sb, "Icmp", "InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps",
            s.IcmpInMsgs, s.IcmpInErrors, s.IcmpInCsumErrors, i[3], i[11], i[12], i[4], i[5], i[8], i[0], i[13], i[14], i[17], i[18],
            s.IcmpOutMsgs, 0, 0, 0, o[3], o[11], o[12], o[4], o[5], o[8], o[0], o[13], o[14], o[17], o[18]);
        IcmpMsg(sb, i, o);

        Row(sb, "Tcp", "RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors",
            1, 200, 120000, -1, s.TcpActiveOpens, s.TcpPassiveOpens, s.TcpAttemptFails, s.TcpEstabResets, currEstab, s.TcpInSegs, s.TcpOutSegs, s.TcpRetransSegs,
            s.TcpInErrs, s.TcpOutRsts, s.TcpInCsumErrors);
        Row(sb, "Udp", "InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
            s.UdpInDatagrams, s.UdpNoPorts, s.UdpInErrors, s.UdpOutDatagrams, s.UdpRcvbufErrors, 0, s.UdpInCsumErrors, 0, 0);

        // There is no UDP-Lite (socket answers EPROTONOSUPPORT); kernels before 7.1 print its row all the same.
        Row(sb, "UdpLite", "InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors", 0, 0, 0, 0, 0, 0, 0, 0, 0);
        return sb.ToString();
    }

    private static void Row(StringBuilder sb, string name, string labels, params long[] values)
    {
        sb.Append(name).Append(": ").Append(labels).Append('\n').Append(name).Append(':');
        foreach (long v in values)
        {
            sb.Append(' ').Append(v.ToString(CultureInfo.InvariantCulture));
        }

        sb.Append('\n');
    }

    // icmpmsg_put: InType<n> for every type received, then OutType<n> for every type sent, in order of type.
    private static void IcmpMsg(StringBuilder sb, long[] inTypes, long[] outTypes)
    {
        var items = new List<(string Label, long Value)>();
        for (int t = 0; t < inTypes.Length; t++)
        {
            if (inTypes[t] != 0)
            {
                items.Add(("InType" + t.ToString(CultureInfo.InvariantCulture), inTypes[t]));
            }
        }

        for (int t = 0; t < outTypes.Length; t++)
        {
            if (outTypes[t] != 0)
            {
                items.Add(("OutType" + t.ToString(CultureInfo.InvariantCulture), outTypes[t]));
            }
        }

        for (int start = 0; start < items.Count; start += IcmpMsgPerLine)
        {
            int end = System.Math.Min(start + IcmpMsgPerLine, items.Count);
            sb.Append("IcmpMsg:");
            for (int k = start; k < end; k++)
            {
                sb.Append(' ').Append(items[k].Label);
            }

            sb.Append("\nIcmpMsg:");
            for (int k = start; k < end; k++)
            {
                sb.Append(' ').Append(items[k].Value.ToString(CultureInfo.InvariantCulture));
            }

            sb.Append('\n');
        }
    }
}
