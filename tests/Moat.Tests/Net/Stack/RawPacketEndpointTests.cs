using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>RawEndpoint and PacketEndpoint: what raw IP and AF_PACKET sockets get from the stack.</summary>
public sealed class RawPacketEndpointTests
{
    private static NetworkStack Loopback()
    {
        var stack = new NetworkStack(new FakeClock(), seed: 7);
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        return stack;
    }

    [Fact]
    public void Raw_UdpDatagram_CopiedWithHeaderBesideTheUdpSocket()
    {
        NetworkStack stack = Loopback();
        RawEndpoint raw = stack.CreateRaw(Ipv4Header.ProtocolUdp);
        UdpEndpoint rx = stack.CreateUdp();
        rx.Bind(Ip4Address.Loopback, 5000);
        UdpEndpoint tx = stack.CreateUdp();
        Assert.Equal(Errno.None, tx.SendTo("data"u8, Ip4Address.Loopback, 5000));

        var buf = new byte[128];
        Assert.Equal(Errno.None, raw.Receive(buf, out int n, out Ip4Address from, peek: false));
        Assert.Equal(20 + 8 + 4, n);
        Assert.Equal(Ip4Address.Loopback, from);
        Assert.Equal(0x45, buf[0]);
        Assert.Equal(Ipv4Header.ProtocolUdp, buf[9]);
        Assert.Equal(5000, BinaryPrimitives.ReadUInt16BigEndian(buf.AsSpan(22)));
        Assert.Equal(Errno.None, rx.Receive(buf, out int m, out _, out _));
        Assert.Equal(4, m);
    }

    [Fact]
    public void Raw_UnknownProtocolTaken_NoProtocolUnreachable()
    {
        NetworkStack stack = Loopback();
        RawEndpoint icmp = stack.CreateRaw(Ipv4Header.ProtocolIcmp);
        RawEndpoint rx = stack.CreateRaw(253);
        RawEndpoint tx = stack.CreateRaw(253);
        Assert.Equal(Errno.None, tx.Send(Ip4Address.Loopback, "abc"u8, tos: 0, ttl: 9));
        var buf = new byte[64];
        Assert.Equal(Errno.None, rx.Receive(buf, out int n, out _, peek: false));
        Assert.Equal(23, n);
        Assert.Equal(9, buf[8]);
        Assert.Equal(0, Checksum.Compute(buf.AsSpan(0, 20)));
        Assert.Equal(Errno.EAGAIN, icmp.Receive(buf, out _, out _, peek: false)); // no ICMP error went out

        rx.Close();
        tx.Close();
        // A datagram of a protocol no socket has (written whole by an IPPROTO_RAW socket, which receives only 255).
        RawEndpoint tx2 = stack.CreateRaw(Ipv4Header.ProtocolRaw);
        var d = new byte[23];
        d[0] = 0x45;
        d[8] = 64;
        d[9] = 254;
        Ip4Address.Loopback.Write(d.AsSpan(16));
        Assert.Equal(Errno.None, tx2.Send(Ip4Address.Loopback, d, tos: 0, ttl: 64));
        Assert.Equal(Errno.None, icmp.Receive(buf, out n, out _, peek: false));
        Assert.Equal(IcmpType.DestinationUnreachable, buf[20]);
        Assert.Equal(IcmpType.CodeProtocolUnreachable, buf[21]);
    }

    [Fact]
    public void Raw_HeaderIncluded_LengthIdChecksumAndSourceCompleted()
    {
        NetworkStack stack = Loopback();
        RawEndpoint rx = stack.CreateRaw(253);
        RawEndpoint tx = stack.CreateRaw(Ipv4Header.ProtocolRaw);
        Assert.True(tx.HeaderIncluded);
        var d = new byte[24];
        d[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), 999);
        d[8] = 5;
        d[9] = 253;
        Ip4Address.Loopback.Write(d.AsSpan(16));
        Assert.Equal(Errno.None, tx.Send(Ip4Address.Loopback, d, 0, 64));
        Assert.Equal(Errno.EINVAL, tx.Send(Ip4Address.Loopback, d.AsSpan(0, 19), 0, 64));
        var buf = new byte[64];
        Assert.Equal(Errno.None, rx.Receive(buf, out int n, out _, peek: false));
        Assert.Equal(24, n);
        Assert.Equal(24, BinaryPrimitives.ReadUInt16BigEndian(buf.AsSpan(2)));
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(buf.AsSpan(4)));
        Assert.Equal(Ip4Address.Loopback, Ip4Address.Read(buf.AsSpan(12)));
        Assert.Equal(5, buf[8]);
        Assert.Equal(0, Checksum.Compute(buf.AsSpan(0, 20)));
    }

    [Fact]
    public void Raw_IcmpFilterConnectAndBuffer_Filter()
    {
        NetworkStack stack = Loopback();
        RawEndpoint icmp = stack.CreateRaw(Ipv4Header.ProtocolIcmp);
        icmp.IcmpFilter = 1u << IcmpType.EchoRequest;
        PingEndpoint ping = stack.CreatePing();
        ping.Bind(0);
        Assert.Equal(Errno.None, ping.SendEcho(Ip4Address.Loopback, 1, "x"u8));
        var buf = new byte[64];
        Assert.Equal(Errno.None, icmp.Receive(buf, out _, out _, peek: false));
        Assert.Equal(IcmpType.EchoReply, buf[20]);
        Assert.Equal(Errno.EAGAIN, icmp.Receive(buf, out _, out _, peek: false));

        icmp.Connect(Ip4Address.Parse("127.0.0.2"));
        Assert.Equal(Errno.None, ping.SendEcho(Ip4Address.Loopback, 2, "x"u8));
        Assert.Equal(Errno.EAGAIN, icmp.Receive(buf, out _, out _, peek: false));

        icmp.Connect(Ip4Address.Any);
        icmp.ReceiveBufferSize = 60; // two 29-byte replies fit, a third does not
        for (ushort i = 0; i < 3; i++)
        {
            ping.SendEcho(Ip4Address.Loopback, i, "x"u8);
        }

        Assert.Equal(1, icmp.Drops);
        Assert.Equal(29, icmp.NextLength);
        Assert.Equal(Readiness.Readable | Readiness.Writable, icmp.Events);
    }

    [Fact]
    public void Packet_Loopback_EachPacketOutAndInBehindAZeroEthernetHeader()
    {
        NetworkStack stack = Loopback();
        PacketEndpoint all = stack.CreatePacket(cooked: false, PacketEndpoint.EthPAll);
        PacketEndpoint ip = stack.CreatePacket(cooked: true, PacketEndpoint.EthPIp);
        UdpEndpoint tx = stack.CreateUdp();
        Assert.Equal(Errno.None, tx.SendTo("ping"u8, Ip4Address.Loopback, 9));

        var buf = new byte[256];
        var types = new List<byte>();
        int frames = 0;
        while (all.Receive(buf, out int n, out PacketSource from, peek: false) == Errno.None)
        {
            Assert.True(buf.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0);
            Assert.Equal(PacketEndpoint.EthPIp, BinaryPrimitives.ReadUInt16BigEndian(buf.AsSpan(12)));
            Assert.Equal(PacketEndpoint.ArphrdLoopback, from.HaType);
            Assert.Equal(1, from.IfIndex);
            if (buf[14 + 9] == Ipv4Header.ProtocolUdp)
            {
                Assert.Equal(14 + 20 + 8 + 4, n);
                types.Add(from.PktType);
            }

            frames++;
        }

        // The datagram, out then in; then the port-unreachable, out then in.
        Assert.Equal([PacketEndpoint.PacketOutgoing, PacketEndpoint.PacketHost], types);
        Assert.Equal(4, frames);
        Assert.Equal(Errno.None, ip.Receive(buf, out int cooked, out PacketSource f, peek: false));
        Assert.Equal(20 + 8 + 4, cooked);
        Assert.Equal(PacketEndpoint.PacketHost, f.PktType);
        Assert.Equal(Errno.None, ip.Receive(buf, out _, out _, peek: false)); // the ICMP error coming in
        Assert.Equal(Errno.EAGAIN, ip.Receive(buf, out _, out _, peek: false));
        Assert.Equal((4L, 0L), all.TakeStatistics());
        Assert.Equal((0L, 0L), all.TakeStatistics());
    }

    [Fact]
    public void Packet_FrameWrittenOnLoopback_ReachesUdpUnlessMartian()
    {
        var stack = new NetworkStack(new FakeClock(), seed: 7);
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        PacketEndpoint all = stack.CreatePacket(cooked: false, PacketEndpoint.EthPAll);
        PacketEndpoint other = stack.CreatePacket(cooked: false, PacketEndpoint.EthPAll);
        UdpEndpoint rx = stack.CreateUdp();
        rx.Bind(Ip4Address.Any, 7000);
        byte[] frame = UdpFrame(Ip4Address.Loopback, 7000);
        Assert.Equal(Errno.ENXIO, all.Send(5, 0, MacAddress.Zero, frame));
        Assert.Equal(Errno.EINVAL, all.Send(1, 0, MacAddress.Zero, frame.AsSpan(0, 10)));
        Assert.Equal(Errno.None, all.Send(1, 0, MacAddress.Zero, frame));
        var buf = new byte[128];
        Assert.Equal(Errno.None, all.Receive(buf, out _, out PacketSource mine, peek: false));
        Assert.Equal(PacketEndpoint.PacketHost, mine.PktType);
        Assert.Equal(Errno.EAGAIN, all.Receive(buf, out _, out _, peek: false)); // not its own outgoing copy
        Assert.Equal(Errno.None, other.Receive(buf, out _, out PacketSource o1, peek: false));
        Assert.Equal(Errno.None, other.Receive(buf, out _, out PacketSource o2, peek: false));
        Assert.Equal((PacketEndpoint.PacketOutgoing, PacketEndpoint.PacketHost), (o1.PktType, o2.PktType));
        Assert.Equal(Errno.EAGAIN, rx.Receive(buf, out _, out _, out _)); // 127.0.0.1 injected on lo is a martian
    }

    [Fact]
    public void Packet_Ethernet_SeesArpAndSendsCookedFrames()
    {
        var net = new TwoStacks(kind: LinkKind.Ethernet);
        PacketEndpoint all = net.B.CreatePacket(cooked: false, PacketEndpoint.EthPAll);
        PacketEndpoint arp = net.B.CreatePacket(cooked: true, 0x0806);
        PingEndpoint ping = net.A.CreatePing();
        ping.Bind(0);
        ping.SendEcho(TwoStacks.AddrB, 1, "x"u8);
        net.Flush();
        var buf = new byte[256];
        var seen = new List<(ushort, byte)>();
        while (all.Receive(buf, out _, out PacketSource from, peek: false) == Errno.None)
        {
            Assert.Equal(PacketEndpoint.ArphrdEther, from.HaType);
            seen.Add((from.Protocol, from.PktType));
        }

        // ARP request (broadcast) in, reply out, echo request in, reply out.
        Assert.Equal([(0x0806, PacketEndpoint.PacketBroadcast), (0x0806, PacketEndpoint.PacketOutgoing),
            (PacketEndpoint.EthPIp, PacketEndpoint.PacketHost), (PacketEndpoint.EthPIp, PacketEndpoint.PacketOutgoing)], seen);
        Assert.Equal(Errno.None, arp.Receive(buf, out int n, out PacketSource a, peek: false));
        Assert.Equal(28, n); // the ARP message without its Ethernet header
        Assert.Equal(new MacAddress(0x02_00_00_00_00_01), a.Address);
        Assert.Equal(Errno.EAGAIN, arp.Receive(buf, out _, out _, peek: false)); // the outgoing reply is ETH_P_ALL's only

        PacketEndpoint cooked = net.B.CreatePacket(cooked: true, 0);
        Assert.Equal(Errno.None, cooked.Send(1, 0x88B5, new MacAddress(0x02_00_00_00_00_01), "hi"u8));
        List<PacketBuffer> sent = net.LinkB.Drain();
        Assert.Single(sent);
        Assert.Equal(16, sent[0].Length);
        Assert.Equal(0x88B5, BinaryPrimitives.ReadUInt16BigEndian(sent[0].Span[12..]));
        Assert.Equal(new MacAddress(0x02_00_00_00_00_02), MacAddress.Read(sent[0].Span[6..]));
    }

    [Fact]
    public void RawAndPacketCopies_AfterWarmUp_AllocateNothing()
    {
        NetworkStack stack = Loopback();
        RawEndpoint raw = stack.CreateRaw(Ipv4Header.ProtocolUdp);
        PacketEndpoint all = stack.CreatePacket(cooked: false, PacketEndpoint.EthPAll);
        UdpEndpoint rx = stack.CreateUdp();
        rx.Bind(Ip4Address.Loopback, 6000);
        UdpEndpoint tx = stack.CreateUdp();
        var buf = new byte[256];
        void Round()
        {
            tx.SendTo("data"u8, Ip4Address.Loopback, 6000);
            raw.Receive(buf, out _, out _, peek: false);
            all.Receive(buf, out _, out _, peek: false);
            all.Receive(buf, out _, out _, peek: false);
            rx.Receive(buf, out _, out _, out _);
        }

        for (int i = 0; i < 100; i++)
        {
            Round();
        }

        // The packet buffers come from one pool for the process, which tests running beside this one may empty
        // for a while (then a Rent allocates): one of a few runs of 1000 rounds must allocate nothing, which a
        // copy path that allocated per packet never would.
        long allocated = 0;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                Round();
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0)
            {
                break;
            }
        }

        Assert.Equal(0, allocated);
    }

    // An Ethernet frame of zero addresses holding a UDP datagram from and to (dst, port).
    private static byte[] UdpFrame(Ip4Address dst, ushort port)
    {
        var f = new byte[14 + 20 + 8 + 4];
        f[12] = 0x08;
        new Ipv4Header { TotalLength = 32, Ttl = 64, Protocol = Ipv4Header.ProtocolUdp, Source = dst, Destination = dst }.Write(f.AsSpan(14));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(34), port);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(36), port);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(38), 12);
        "pong"u8.CopyTo(f.AsSpan(42));
        return f;
    }
}
