using System.Threading;

namespace Moat.Sentry.Net;

/// <summary>
/// The loopback network's statistics, as /proc/net/snmp and /proc/net/dev show them: connections opened and
/// failed, datagrams in and out, and bytes and writes through lo. There are no packets here, so lo counts
/// each write (a segment or a datagram) as one packet of its payload. Updated with atomic adds, so the
/// data path takes no lock for them.
/// </summary>
internal sealed class NetCounters
{
    public long TcpActiveOpens;
    public long TcpPassiveOpens;
    public long TcpAttemptFails;
    public long TcpEstabResets;
    public long UdpInDatagrams;
    public long UdpNoPorts;
    public long UdpOutDatagrams;
    public long UdpRcvbufErrors;
    public long LoBytes;
    public long LoPackets;

    public static void Add(ref long counter, long n) => Interlocked.Add(ref counter, n);

    public static long Read(ref long counter) => Interlocked.Read(ref counter);

    /// <summary>One write through lo: its bytes and one packet.</summary>
    public void CountLo(long bytes)
    {
        Interlocked.Add(ref LoBytes, bytes);
        Interlocked.Increment(ref LoPackets);
    }
}
