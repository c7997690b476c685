using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>Data transfer: bulk over a lossy link, zero windows, retransmission backoff, Nagle.</summary>
public class TcpTransferTests
{
    private static byte Pattern(long i) => (byte)((i * 7) + (i >> 11));

    /// <summary>Sends <paramref name="total"/> bytes from <paramref name="from"/> and checks <paramref name="to"/> reads them in order.</summary>
    private static void Transfer(TwoStacks net, TcpEndpoint from, TcpEndpoint to, int total, long tickNs = 0)
    {
        long sent = 0, received = 0;
        var chunk = new byte[64 * 1024];
        var rbuf = new byte[48 * 1024];
        bool ok = net.RunUntil(() => received == total, () =>
        {
            if (tickNs > 0)
            {
                // Let time pass while data flows, so round trips take time (a millisecond of clock per round).
                net.Clock.NowNs += tickNs;
                net.A.ProcessTimers();
                net.B.ProcessTimers();
            }
            while (sent < total)
            {
                int n = (int)Math.Min(chunk.Length, total - sent);
                for (int i = 0; i < n; i++)
                {
                    chunk[i] = Pattern(sent + i);
                }
                if (from.Send(chunk.AsSpan(0, n), out int w) != Errno.None)
                {
                    break;
                }
                sent += w;
            }
            while (to.Receive(rbuf, out int r) == Errno.None && r > 0)
            {
                for (int i = 0; i < r; i++)
                {
                    if (rbuf[i] != Pattern(received + i))
                    {
                        Assert.Fail($"byte {received + i} differs");
                    }
                }
                received += r;
            }
        });
        Assert.True(ok, $"received {received} of {total}");
    }

    [Fact]
    public void Bulk_FourMiBWithLossReorderingAndDuplicates_ArrivesIntactAndInOrder()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        foreach (ChannelLink l in new[] { net.LinkA, net.LinkB })
        {
            l.Loss = 0.05;
            l.Reordering = 0.05;
            l.Duplication = 0.01;
        }
        Transfer(net, client, server, 4 << 20);
        Assert.True(net.A.Stats.TcpRetransSegs > 0);
        // And back the other way over the same lossy link.
        Transfer(net, server, client, 1 << 20);
        client.Close();
        server.Close();
        Assert.True(net.RunUntil(() => client.State == TcpState.Closed && server.State == TcpState.Closed));
    }

    [Fact]
    public void Bulk_CleanLink_SendBufferAutotunesAboveDefault()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        int before = client.SendBufferSize;
        Transfer(net, client, server, 2 << 20);
        Assert.True(client.SendBufferSize > before, $"{client.SendBufferSize} <= {before}");
        Assert.True(client.CongestionWindow > 10 * client.Mss);
    }

    [Fact]
    public void Bulk_ClockAdvancing_ReceiveBufferAutotunesAboveDefault()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        Assert.Equal(TcpEndpoint.DefaultReceiveBuffer, server.ReceiveBufferSize);
        Transfer(net, client, server, 8 << 20, tickNs: 1_000_000);
        Assert.True(server.ReceiveBufferSize > TcpEndpoint.DefaultReceiveBuffer, $"{server.ReceiveBufferSize}");
        Assert.True(server.ReceiveBufferSize <= TcpEndpoint.MaxReceiveBuffer);
    }

    [Fact]
    public void ReceiveBuffer_SetByOption_NotAutotuned()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect(setupListener: l => l.ReceiveBufferSize = 65536);
        Assert.Equal(131072, server.ReceiveBufferSize); // SO_RCVBUF reads back doubled, as Linux
        Transfer(net, client, server, 4 << 20, tickNs: 1_000_000);
        Assert.Equal(131072, server.ReceiveBufferSize);
    }

    [Fact]
    public void Keepalive_PeerAnswers_StaysUp_PeerGone_ProbesThenEtimedout()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, _, _) = net.Connect(setupClient: c =>
        {
            c.KeepIdleNs = 10_000_000_000;
            c.KeepIntervalNs = 1_000_000_000;
            c.KeepCount = 3;
            c.KeepAlive = true;
        });
        int probes = 0;
        net.LinkA.Filter = p =>
        {
            TcpSegment s = TcpSegmentBuilder.Parse(p, out int len);
            if (len == 0 && s.Seq == client.SendNext - 1)
            {
                probes++;
            }
            return true;
        };
        long t = net.Clock.NowNs;
        net.RunUntil(() => net.Clock.NowNs >= t + 35_000_000_000);
        Assert.Equal(TcpState.Established, client.State);
        Assert.Equal(3, probes); // one per idle period, each answered
        net.LinkB.Filter = _ => false;
        probes = 0;
        Assert.True(net.RunUntil(() => client.State == TcpState.Closed));
        Assert.Equal(Errno.ETIMEDOUT, client.TakeError());
        Assert.Equal(3, probes);
    }

    [Fact]
    public void Sack_OutOfOrderData_ReceiverReportsBlocks()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, _, _) = net.Connect();
        bool dropped = false;
        net.LinkA.Filter = p =>
        {
            TcpSegmentBuilder.Parse(p, out int len);
            if (len > 0 && !dropped)
            {
                dropped = true;
                return false;
            }
            return true;
        };
        client.Send(new byte[3 * client.Mss], out _);
        net.LinkA.TransferTo(net.LinkB);
        List<PacketBuffer> acks = net.LinkB.Drain();
        Assert.Equal(2, acks.Count); // a duplicate ACK for each out-of-order segment
        TcpSegment last = TcpSegmentBuilder.Parse(acks[^1], out _);
        Assert.Equal(1, last.SackCount);
        Assert.Equal(client.Mss * 2, (int)(last.Sacks[1] - last.Sacks[0]));
        Assert.Equal(last.Ack + (uint)client.Mss, last.Sacks[0]);
    }

    [Fact]
    public void Sack_ThreeLossesInOneWindow_AllRepairedInOneRoundTrip()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        int segment = 0;
        net.LinkA.Filter = p =>
        {
            TcpSegmentBuilder.Parse(p, out int len);
            if (len == 0)
            {
                return true;
            }
            segment++;
            return segment is not (2 or 5 or 8);
        };
        client.Send(new byte[10 * client.Mss], out _);
        net.LinkA.TransferTo(net.LinkB); // seven of ten arrive
        net.LinkB.TransferTo(net.LinkA); // their (duplicate) ACKs with SACK blocks
        // NewReno alone would resend one segment per round trip; with the scoreboard all three holes go now.
        Assert.Equal(3, net.A.Stats.TcpRetransSegs);
        net.LinkA.TransferTo(net.LinkB);
        Assert.Equal(10 * client.Mss, server.ReadableBytes);
    }

    [Fact]
    public void ZeroWindow_ReaderStalls_SenderProbesWithBackoffThenResumes()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect(setupListener: l => l.ReceiveBufferSize = 4096);
        var data = new byte[64 * 1024];
        Assert.Equal(Errno.None, client.Send(data, out int queued));
        Assert.True(queued > 4096);
        var probeTimes = new List<long>();
        net.LinkA.Filter = p =>
        {
            TcpSegmentBuilder.Parse(p, out int len);
            if (len == 1)
            {
                probeTimes.Add(net.Clock.NowNs);
            }
            return true;
        };
        // Nobody reads: the window closes and A probes it, further and further apart.
        // The first probes fill what the window's scaling hid (accepted, no backoff); then they are refused.
        // (A shift of 10, from tcp_rmem[2]'s 32 MiB, hides up to 1023 bytes.)
        const int probes = 1100;
        net.RunUntil(() => probeTimes.Count >= probes);
        // The window (4 KiB) is full but for the bytes its scaling hides, which the one-byte probes fill (or
        // a unit beyond: a window kept from shrinking is rounded up to the scale's unit, as Linux's).
        Assert.InRange(server.ReadableBytes, 4096 - 1024, 4096 + 1024);
        Assert.Equal(probes, probeTimes.Count);
        Assert.Equal(TcpState.Established, client.State);
        long d1 = probeTimes[^2] - probeTimes[^3], d2 = probeTimes[^1] - probeTimes[^2];
        Assert.Equal(Math.Min(2 * d1, 120_000_000_000), d2);
        // The reader drains: the window update restarts the transfer to the end.
        long read = 0;
        var buf = new byte[4096];
        Assert.True(net.RunUntil(() => read == queued, () =>
        {
            while (server.Receive(buf, out int r) == Errno.None && r > 0)
            {
                read += r;
            }
        }));
    }

    [Fact]
    public void Retransmission_PeerSilent_TimerBacksOffExponentiallyThenEtimedout()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, _, _) = net.Connect();
        var times = new List<long>();
        net.LinkA.Filter = p =>
        {
            times.Add(net.Clock.NowNs);
            return false;
        };
        client.Send(new byte[100], out _);
        Assert.True(net.RunUntil(() => client.State == TcpState.Closed));
        Assert.Equal(Errno.ETIMEDOUT, client.TakeError());
        // The first transmission, then tcp_retries2 = 15 retransmissions.
        Assert.Equal(16, times.Count);
        long rto = times[1] - times[0];
        Assert.Equal(200_000_000, rto); // RTT ~0 on this link: TCP_RTO_MIN
        for (int i = 2; i < times.Count; i++)
        {
            Assert.Equal(Math.Min(rto << (i - 1), 120_000_000_000), times[i] - times[i - 1]);
        }
    }

    [Fact]
    public void FastRetransmit_OneSegmentLost_RecoveredBeforeTheTimer()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        bool dropped = false;
        net.LinkA.Filter = p =>
        {
            TcpSegmentBuilder.Parse(p, out int len);
            if (len > 0 && !dropped)
            {
                dropped = true;
                return false;
            }
            return true;
        };
        client.Send(new byte[10 * 1448], out _);
        long start = net.Clock.NowNs;
        long read = 0;
        var buf = new byte[65536];
        Assert.True(net.RunUntil(() => read == 10 * 1448, () =>
        {
            while (server.Receive(buf, out int r) == Errno.None && r > 0)
            {
                read += r;
            }
        }));
        Assert.True(net.Clock.NowNs - start < client.RtoNs, "recovered by the retransmission timer, not by duplicate ACKs");
        Assert.Equal(1, net.A.Stats.TcpRetransSegs);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    public void Nagle_SmallWritesWithDataInFlight_HeldUnlessNoDelay(bool noDelay, int segments)
    {
        var net = new TwoStacks();
        (TcpEndpoint client, _, _) = net.Connect();
        client.NoDelay = noDelay;
        client.Send("a"u8, out _);
        client.Send("b"u8, out _);
        int data = 0;
        foreach (PacketBuffer p in net.LinkA.Drain())
        {
            TcpSegmentBuilder.Parse(p, out int len);
            data += len > 0 ? 1 : 0;
        }
        Assert.Equal(segments, data);
    }

    [Fact]
    public void DelayedAck_OneSegment_AckedAfter40ms()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, _, _) = net.Connect();
        // Quick-ACK mode at the connection's start: the first segments are acknowledged at once.
        int quick = 0;
        while (true)
        {
            client.Send("x"u8, out _);
            net.LinkA.TransferTo(net.LinkB);
            if (net.LinkB.Pending == 0)
            {
                break;
            }
            net.LinkB.TransferTo(net.LinkA);
            quick++;
        }
        Assert.Equal(16, quick);
        long t = net.Clock.NowNs;
        Assert.Equal(t + 40_000_000, net.B.NextDeadline);
        net.Clock.NowNs = t + 40_000_000;
        net.B.ProcessTimers();
        Assert.Equal(1, net.LinkB.Pending);
    }

    [Fact]
    public void DelayedAck_TwoFullSegments_AckedAtOnce()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, _, _) = net.Connect();
        for (int i = 0; i < 16; i++)
        {
            // Use up the quick ACKs of the connection's start.
            client.Send("x"u8, out _);
            net.LinkA.TransferTo(net.LinkB);
            net.LinkB.TransferTo(net.LinkA);
        }
        client.Send(new byte[2 * client.Mss], out _);
        net.LinkA.TransferTo(net.LinkB);
        Assert.Equal(1, net.LinkB.Pending);
    }
}
