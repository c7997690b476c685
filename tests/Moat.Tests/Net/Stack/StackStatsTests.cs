using System;
using System.Linq;
using Moat.Abi;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs.Proc;

namespace Moat.Tests.Net.Stack;

/// <summary>The stack's SNMP counters, counted where Linux counts them, and /proc/net/snmp as Linux prints them.</summary>
public sealed class StackStatsTests
{
    private static NetworkStack Loopback()
    {
        var stack = new NetworkStack(new FakeClock(), seed: 7);
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        return stack;
    }

    [Fact]
    public void Tcp_OpensEstablishedResetsAndFailedAttempts()
    {
        NetworkStack stack = Loopback();
        TcpEndpoint listener = stack.CreateTcp();
        Assert.Equal(Errno.None, listener.Bind(Ip4Address.Loopback, 8080));
        Assert.Equal(Errno.None, listener.Listen(4));
        TcpEndpoint client = stack.CreateTcp();
        Assert.Equal(Errno.EINPROGRESS, client.Connect(Ip4Address.Loopback, 8080));
        Assert.Equal(Errno.None, listener.Accept(out TcpEndpoint? server));

        StackStats s = stack.StatsSnapshot(out long currEstab);
        Assert.Equal(1, s.TcpActiveOpens);
        Assert.Equal(1, s.TcpPassiveOpens);
        Assert.Equal(2, currEstab);
        Assert.Equal(0, s.TcpEstabResets);

        // An abort sends a RST: both ends leave ESTABLISHED for CLOSED.
        client.Abort();
        TcpEndpoint refused = stack.CreateTcp();
        Assert.Equal(Errno.EINPROGRESS, refused.Connect(Ip4Address.Loopback, 8081));
        s = stack.StatsSnapshot(out currEstab);
        Assert.Equal(0, currEstab);
        Assert.Equal(2, s.TcpEstabResets);
        Assert.Equal(1, s.TcpAttemptFails);
        Assert.True(s.TcpOutRsts >= 2);
        Assert.Equal(s.TcpInSegs, s.TcpOutSegs);
        GC.KeepAlive(server);
    }

    [Fact]
    public void UdpAndIcmp_DatagramsNoPortsAndMessagesByType()
    {
        NetworkStack stack = Loopback();
        UdpEndpoint rx = stack.CreateUdp();
        Assert.Equal(Errno.None, rx.Bind(Ip4Address.Loopback, 5000));
        UdpEndpoint tx = stack.CreateUdp();
        Assert.Equal(Errno.None, tx.SendTo("one"u8, Ip4Address.Loopback, 5000));
        Assert.Equal(Errno.None, tx.SendTo("two"u8, Ip4Address.Loopback, 5001));
        PingEndpoint ping = stack.CreatePing();
        Assert.Equal(Errno.None, ping.Bind(0));
        Assert.Equal(Errno.None, ping.SendEcho(Ip4Address.Loopback, 1, "x"u8));

        StackStats s = stack.StatsSnapshot(out _);
        Assert.Equal(2, s.UdpOutDatagrams);
        Assert.Equal(1, s.UdpInDatagrams);
        Assert.Equal(1, s.UdpNoPorts);
        // The port unreachable for 5001, the echo request and its reply: each sent and received once.
        Assert.Equal(3, s.IcmpOutMsgs);
        Assert.Equal(3, s.IcmpInMsgs);
        Assert.Equal(1, s.IcmpOutTypes[IcmpType.DestinationUnreachable]);
        Assert.Equal(1, s.IcmpInTypes[IcmpType.DestinationUnreachable]);
        Assert.Equal(1, s.IcmpOutTypes[IcmpType.EchoRequest]);
        Assert.Equal(1, s.IcmpInTypes[IcmpType.EchoReply]);
        Assert.Equal(5, s.IpOutRequests);
        Assert.Equal(5, s.IpInReceives);
        Assert.Equal(5, s.IpInDelivers);
        Assert.Equal(s.IpOutRequests, s.IpOutTransmits);
    }

    [Fact]
    public void ProcNetSnmp_EveryRowHasAValuePerLabel_IcmpMsgOnlyForTypesSeen()
    {
        string empty = ProcNetSnmp.Render(null, 0);
        Assert.DoesNotContain("IcmpMsg:", empty);
        Assert.StartsWith("Ip: Forwarding DefaultTTL InReceives", empty);

        NetworkStack stack = Loopback();
        UdpEndpoint tx = stack.CreateUdp();
        Assert.Equal(Errno.None, tx.SendTo("x"u8, Ip4Address.Loopback, 9));
        string text = ProcNetSnmp.Render(stack.StatsSnapshot(out long currEstab), currEstab);
        string[] lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(["Ip", "Ip", "Icmp", "Icmp", "IcmpMsg", "IcmpMsg", "Tcp", "Tcp", "Udp", "Udp", "UdpLite", "UdpLite"], lines.Select(l => l[..l.IndexOf(':')]));
        for (int i = 0; i < lines.Length; i += 2)
        {
            Assert.Equal(lines[i].Split(' ').Length, lines[i + 1].Split(' ').Length);
        }

        Assert.Equal("IcmpMsg: InType3 OutType3", lines[4]);
        Assert.Equal("IcmpMsg: 1 1", lines[5]);
        Assert.Equal("Udp: 0 1 0 1 0 0 0 0 0", lines[9]);
    }
}
