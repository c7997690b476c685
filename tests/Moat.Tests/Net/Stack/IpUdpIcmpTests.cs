using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>IPv4, ICMP, UDP and ARP between two stacks, and the loopback link.</summary>
public class IpUdpIcmpTests
{
    [Fact]
    public void Checksum_Rfc1071Example()
    {
        // RFC 1071 section 3's example: the sum of 0001 f203 f4f5 f6f7 is ddf2, its complement 220d.
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0x220d, Checksum.Compute(data));
        byte[] odd = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0x01];
        Assert.Equal(0x210d, Checksum.Compute(odd));
    }

    [Fact]
    public void Ping_StackToStack_EchoReplyWithPayload()
    {
        var net = new TwoStacks();
        PingEndpoint ping = net.A.CreatePing();
        Assert.Equal(Errno.None, ping.Bind(0));
        Assert.Equal(Errno.None, ping.SendEcho(TwoStacks.AddrB, 7, "hello"u8));
        net.Flush();
        var buf = new byte[16];
        Assert.Equal(Errno.None, ping.TryReceive(buf, out int n, out ushort seq, out Ip4Address from));
        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buf, 0, n));
        Assert.Equal(7, seq);
        Assert.Equal(TwoStacks.AddrB, from);
        Assert.Equal(1, net.B.Stats.IcmpOutEchoReps);
        Assert.Equal(Errno.EAGAIN, ping.TryReceive(buf, out _, out _, out _));
    }

    [Fact]
    public void Udp_RoundTrip_SourceAddressAndPortReported()
    {
        var net = new TwoStacks();
        UdpEndpoint server = net.B.CreateUdp();
        Assert.Equal(Errno.None, server.Bind(Ip4Address.Any, 53));
        UdpEndpoint client = net.A.CreateUdp();
        Assert.Equal(Errno.None, client.Connect(TwoStacks.AddrB, 53));
        Assert.Equal(Errno.None, client.SendTo("query"u8));
        net.Flush();
        Assert.NotEqual(0, server.Events & Readiness.Readable);
        var buf = new byte[64];
        Assert.Equal(Errno.None, server.Receive(buf, out int n, out IpAddress from, out ushort port));
        Assert.Equal("query", System.Text.Encoding.ASCII.GetString(buf, 0, n));
        Assert.Equal<IpAddress>(TwoStacks.AddrA, from);
        Assert.Equal(client.LocalPort, port);
        Assert.Equal(Errno.None, server.SendTo("answer"u8, from, port));
        net.Flush();
        Assert.Equal(Errno.None, client.Receive(buf, out n, out from, out port));
        Assert.Equal("answer", System.Text.Encoding.ASCII.GetString(buf, 0, n));
        Assert.Equal<IpAddress>(TwoStacks.AddrB, from);
        Assert.Equal(53, port);
    }

    [Fact]
    public void Udp_ClosedPort_IcmpPortUnreachableGivesEconnrefusedOnce()
    {
        var net = new TwoStacks();
        UdpEndpoint client = net.A.CreateUdp();
        Assert.Equal(Errno.None, client.Connect(TwoStacks.AddrB, 9999));
        Assert.Equal(Errno.None, client.SendTo("x"u8));
        net.Flush();
        Assert.Equal(1, net.B.Stats.UdpNoPorts);
        Assert.Equal(1, net.B.Stats.IcmpOutDestUnreachs);
        Assert.NotEqual(0, client.Events & Readiness.Error);
        Assert.Equal(Errno.ECONNREFUSED, client.Receive(new byte[4], out _, out _, out _));
        Assert.Equal(Errno.EAGAIN, client.Receive(new byte[4], out _, out _, out _));
    }

    [Fact]
    public void Udp_UnconnectedSender_NoErrorReported()
    {
        var net = new TwoStacks();
        UdpEndpoint client = net.A.CreateUdp();
        Assert.Equal(Errno.None, client.SendTo("x"u8, TwoStacks.AddrB, 9999));
        net.Flush();
        Assert.Equal(0, client.Events & Readiness.Error);
    }

    [Fact]
    public void Udp_BindSamePortTwice_Eaddrinuse()
    {
        var net = new TwoStacks();
        Assert.Equal(Errno.None, net.A.CreateUdp().Bind(Ip4Address.Any, 5000));
        Assert.Equal(Errno.EADDRINUSE, net.A.CreateUdp().Bind(TwoStacks.AddrA, 5000));
        Assert.Equal(Errno.EADDRNOTAVAIL, net.A.CreateUdp().Bind(TwoStacks.AddrB, 5001));
    }

    [Fact]
    public void Fragments_LargeDatagramInReverseOrder_Reassembled()
    {
        var net = new TwoStacks();
        UdpEndpoint server = net.B.CreateUdp();
        server.Bind(Ip4Address.Any, 7);
        UdpEndpoint client = net.A.CreateUdp();
        var data = new byte[4000];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i * 13);
        }
        Assert.Equal(Errno.None, client.SendTo(data, TwoStacks.AddrB, 7));
        List<PacketBuffer> frags = net.LinkA.Drain();
        Assert.Equal(3, frags.Count); // 1480 + 1480 + 1048 bytes of the 4008-byte UDP datagram
        frags.Reverse();
        foreach (PacketBuffer f in frags)
        {
            net.LinkB.Inject(f);
        }
        var buf = new byte[5000];
        Assert.Equal(Errno.None, server.Receive(buf, out int n, out _, out _));
        Assert.Equal(4000, n);
        Assert.True(buf.AsSpan(0, n).SequenceEqual(data));
        Assert.Equal(1, net.B.Stats.IpReasmOks);
    }

    [Fact]
    public void Fragments_Overlapping_DatagramDropped()
    {
        var net = new TwoStacks();
        UdpEndpoint server = net.B.CreateUdp();
        server.Bind(Ip4Address.Any, 7);
        net.A.CreateUdp().SendTo(new byte[4000], TwoStacks.AddrB, 7);
        List<PacketBuffer> frags = net.LinkA.Drain();
        // Move the second fragment's offset back by 8 bytes: it overlaps the first.
        Span<byte> ip = frags[1].Span;
        ushort fo = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], (ushort)(fo - 1));
        ip[10] = 0;
        ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..20]));
        foreach (PacketBuffer f in frags)
        {
            net.LinkB.Inject(f);
        }
        Assert.Equal(Errno.EAGAIN, server.Receive(new byte[5000], out _, out _, out _));
        Assert.True(net.B.Stats.IpReasmFails > 0);
    }

    [Fact]
    public void Fragments_Incomplete_ExpireAfter30sWithTimeExceeded()
    {
        var net = new TwoStacks();
        net.A.CreateUdp().SendTo(new byte[4000], TwoStacks.AddrB, 7);
        List<PacketBuffer> frags = net.LinkA.Drain();
        net.LinkB.Inject(frags[0]);
        net.LinkB.Inject(frags[2]);
        frags[1].Release();
        Assert.Equal(0, net.LinkB.Pending);
        net.Clock.NowNs += FragmentReassembler.TimeoutNs;
        net.B.ProcessTimers();
        List<PacketBuffer> sent = net.LinkB.Drain();
        Assert.Single(sent);
        Assert.Equal(Ipv4Header.ProtocolIcmp, sent[0].Span[9]);
        Assert.Equal(IcmpType.TimeExceeded, sent[0].Span[20]);
        Assert.Equal(1, sent[0].Span[21]);
    }

    [Fact]
    public void UnknownProtocol_IcmpProtocolUnreachable()
    {
        var net = new TwoStacks();
        PacketBuffer p = PacketBuffer.Rent(28);
        p.Append(8).Clear();
        new Ipv4Header { TotalLength = 28, Ttl = 64, Protocol = 99, Source = TwoStacks.AddrA, Destination = TwoStacks.AddrB }.Write(p.Prepend(20));
        net.LinkB.Inject(p);
        List<PacketBuffer> sent = net.LinkB.Drain();
        Assert.Single(sent);
        Assert.Equal(IcmpType.DestinationUnreachable, sent[0].Span[20]);
        Assert.Equal(IcmpType.CodeProtocolUnreachable, sent[0].Span[21]);
    }

    [Fact]
    public void Ethernet_PingResolvesNeighbourByArp()
    {
        var net = new TwoStacks(kind: LinkKind.Ethernet);
        PingEndpoint ping = net.A.CreatePing();
        ping.Bind(0);
        Assert.Equal(Errno.None, ping.SendEcho(TwoStacks.AddrB, 1, "arp"u8));
        // Only the ARP request leaves at first; the echo waits for the answer.
        Assert.Equal(1, net.LinkA.Pending);
        net.Flush();
        Assert.Equal(Errno.None, ping.TryReceive(new byte[8], out int n, out _, out _));
        Assert.Equal(3, n);
        Assert.Equal(1, net.A.Arp.ResolvedCount);
        Assert.Equal(1, net.B.Arp.ResolvedCount);
    }

    [Fact]
    public void Ethernet_TcpOverArp_Connects()
    {
        var net = new TwoStacks(kind: LinkKind.Ethernet);
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        client.Send("over ethernet"u8, out _);
        net.Flush();
        var buf = new byte[32];
        Assert.Equal(Errno.None, server.Receive(buf, out int n));
        Assert.Equal(13, n);
    }

    [Fact]
    public void Loopback_TcpEchoAndUdp_OnOneStack()
    {
        var clock = new FakeClock();
        var stack = new NetworkStack(clock, seed: 3);
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        TcpEndpoint listener = stack.CreateTcp();
        listener.Bind(Ip4Address.Loopback, 8080);
        listener.Listen(4);
        TcpEndpoint client = stack.CreateTcp();
        // Over the loopback the handshake completes inside the call.
        Assert.Equal(Errno.EINPROGRESS, client.Connect(Ip4Address.Loopback, 8080));
        Assert.Equal(TcpState.Established, client.State);
        Assert.Equal(Errno.None, listener.Accept(out TcpEndpoint? server));
        Assert.Equal(65535 - 40 - 12, client.Mss); // Linux's 65483 on lo
        var big = new byte[1 << 20];
        new Random(1).NextBytes(big);
        int sent = 0, got = 0;
        var rbuf = new byte[1 << 20];
        for (int round = 0; round < 10_000 && got < big.Length; round++)
        {
            if (sent < big.Length && client.Send(big.AsSpan(sent), out int w) == Errno.None)
            {
                sent += w;
            }
            while (server!.Receive(rbuf.AsSpan(got), out int r) == Errno.None && r > 0)
            {
                got += r;
            }
            if (stack.NextDeadline != long.MaxValue)
            {
                clock.NowNs = Math.Max(clock.NowNs, stack.NextDeadline);
                stack.ProcessTimers();
            }
        }
        Assert.Equal(big.Length, got);
        Assert.True(rbuf.AsSpan(0, got).SequenceEqual(big));

        UdpEndpoint u1 = stack.CreateUdp(), u2 = stack.CreateUdp();
        u1.Bind(Ip4Address.Loopback, 9000);
        Assert.Equal(Errno.None, u2.SendTo("dgram"u8, Ip4Address.Loopback, 9000));
        Assert.Equal(Errno.None, u1.Receive(new byte[8], out int dn, out _, out _));
        Assert.Equal(5, dn);
    }
}
