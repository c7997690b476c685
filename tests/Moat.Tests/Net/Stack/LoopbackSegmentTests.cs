using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>
/// TCP and UDP on the loopback leave their checksum to the device as Linux's lo does (CHECKSUM_PARTIAL): the
/// field holds the pseudo-header's sum and the receiver does not verify it; a segment from anywhere else is
/// still verified.
/// Without packet or raw sockets a looped segment's payload is copied once, from the sender's queue.
/// </summary>
public sealed class LoopbackSegmentTests
{
    private static NetworkStack Loopback()
    {
        var stack = new NetworkStack(new FakeClock(), seed: 5);
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        return stack;
    }

    [Fact]
    public void LoopbackSegments_CarryThePseudoHeaderSum_AndArriveWhole()
    {
        NetworkStack stack = Loopback();
        RawEndpoint raw = stack.CreateRaw(Ipv4Header.ProtocolTcp);
        TcpEndpoint listener = stack.CreateTcp();
        Assert.Equal(Errno.None, listener.Bind(Ip4Address.Loopback, 8080));
        Assert.Equal(Errno.None, listener.Listen(4));
        TcpEndpoint client = stack.CreateTcp();
        Assert.Equal(Errno.EINPROGRESS, client.Connect(Ip4Address.Loopback, 8080));
        Assert.Equal(Errno.None, listener.Accept(out TcpEndpoint? server));
        var data = new byte[3000];
        new Random(1).NextBytes(data);
        Assert.Equal(Errno.None, client.Send(data, out int sent));
        Assert.Equal(data.Length, sent);

        var got = new byte[4096];
        Assert.Equal(Errno.None, server!.Receive(got, out int n));
        Assert.Equal(data, got.AsSpan(0, n).ToArray());

        var buf = new byte[70000];
        int segments = 0;
        while (raw.Receive(buf, out int len, out _, peek: false) == Errno.None)
        {
            ReadOnlySpan<byte> tcp = buf.AsSpan(20, len - 20);
            ushort field = BinaryPrimitives.ReadUInt16BigEndian(tcp[16..]);
            Assert.Equal(TcpSegment.PartialChecksum((IpAddress)Ip4Address.Loopback, (IpAddress)Ip4Address.Loopback, tcp.Length), field);
            segments++;
        }

        Assert.True(segments >= 4, $"{segments} segments seen"); // SYN, SYN-ACK, ACK, data (and its ACK)
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void SegmentFromARawSocket_IsVerified_BadChecksumDrawsNoReset(bool corrupt, bool reset)
    {
        NetworkStack stack = Loopback();
        RawEndpoint raw = stack.CreateRaw(Ipv4Header.ProtocolTcp);
        var syn = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(syn, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(2), 9); // no listener there
        BinaryPrimitives.WriteUInt32BigEndian(syn.AsSpan(4), 1000);
        syn[12] = 5 << 4;
        syn[13] = 0x02;
        BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(14), 65535);
        IpAddress lo = (IpAddress)Ip4Address.Loopback;
        ushort sum = TcpSegment.ComputeChecksum(lo, lo, syn);
        BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(16), corrupt ? (ushort)(sum ^ 0x0101) : sum);
        Assert.Equal(Errno.None, raw.Send(Ip4Address.Loopback, syn, tos: 0, ttl: 64));

        var buf = new byte[256];
        bool sawReset = false;
        while (raw.Receive(buf, out int len, out _, peek: false) == Errno.None)
        {
            sawReset |= len >= 40 && (buf[20 + 13] & 0x04) != 0;
        }

        Assert.Equal(reset, sawReset);
    }

    [Fact]
    public void LoopbackTransfer_PayloadFromTheSendersQueue_ArrivesWhole()
    {
        var clock = new FakeClock();
        var stack = new NetworkStack(clock, seed: 5);
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        TcpEndpoint listener = stack.CreateTcp();
        Assert.Equal(Errno.None, listener.Bind(Ip4Address.Loopback, 8080));
        Assert.Equal(Errno.None, listener.Listen(4));
        TcpEndpoint client = stack.CreateTcp();
        Assert.Equal(Errno.EINPROGRESS, client.Connect(Ip4Address.Loopback, 8080));
        Assert.Equal(Errno.None, listener.Accept(out TcpEndpoint? server));

        // Odd write and read sizes, so segments start and end anywhere in both rings and wrap around them.
        var data = new byte[3 << 20];
        new Random(2).NextBytes(data);
        var got = new byte[data.Length];
        int sent = 0, read = 0, round = 0;
        var rbuf = new byte[50_001];
        while (read < data.Length && round++ < 100_000)
        {
            int chunk = Math.Min(data.Length - sent, 70_000 + (round % 7) * 1_234);
            if (chunk > 0 && client.Send(data.AsSpan(sent, chunk), out int w) == Errno.None)
            {
                sent += w;
            }
            if (server!.Receive(rbuf.AsSpan(0, 10_000 + (round % 5) * 9_999), out int r) == Errno.None)
            {
                rbuf.AsSpan(0, r).CopyTo(got.AsSpan(read));
                read += r;
            }
            else
            {
                clock.NowNs += 1_000_000; // a delayed ACK or a window update may be due
                stack.ProcessTimers();
            }
        }

        Assert.Equal(data.Length, read);
        Assert.True(data.AsSpan().SequenceEqual(got), "the looped bytes differ");
    }

    [Fact]
    public void LoopbackDatagram_CarriesThePseudoHeaderSum_AndArrives()
    {
        NetworkStack stack = Loopback();
        RawEndpoint raw = stack.CreateRaw(Ipv4Header.ProtocolUdp);
        UdpEndpoint rx = stack.CreateUdp();
        Assert.Equal(Errno.None, rx.Bind(Ip4Address.Loopback, 5000));
        UdpEndpoint tx = stack.CreateUdp();
        Assert.Equal(Errno.None, tx.SendTo("datagram"u8, Ip4Address.Loopback, 5000));

        var buf = new byte[128];
        Assert.Equal(Errno.None, raw.Receive(buf, out int n, out _, peek: false));
        ReadOnlySpan<byte> udp = buf.AsSpan(20, n - 20);
        IpAddress lo = (IpAddress)Ip4Address.Loopback;
        Assert.Equal((ushort)~Checksum.Finish(Checksum.PseudoHeader(lo, lo, Ipv4Header.ProtocolUdp, udp.Length)), BinaryPrimitives.ReadUInt16BigEndian(udp[6..]));
        Assert.Equal(Errno.None, rx.Receive(buf, out int m, out _, out _));
        Assert.Equal("datagram"u8.ToArray(), buf.AsSpan(0, m).ToArray());
    }
}
