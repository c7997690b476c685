using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>Connection set-up and tear-down of the stack's TCP between two stacks over a channel link.</summary>
public class TcpHandshakeTests
{
    [Fact]
    public void Connect_ToListener_BothEstablishedWithNegotiatedOptions()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        Assert.Equal(TcpState.Established, client.State);
        Assert.Equal(TcpState.Established, server.State);
        // MTU 1500 - 40 bytes of headers - 12 of timestamps.
        Assert.Equal(1448, client.Mss);
        Assert.Equal(1448, server.Mss);
        Assert.Equal(TwoStacks.AddrA, server.Key.RemoteAddress);
        Assert.Equal(client.Key.LocalPort, server.Key.RemotePort);
        Assert.Equal(Readiness.Writable, client.Events & (Readiness.Writable | Readiness.Readable));
        Assert.Equal(Errno.None, client.TakeError());
    }

    [Fact]
    public void Connect_ClosedPort_RstGivesEconnrefused()
    {
        var net = new TwoStacks();
        TcpEndpoint client = net.A.CreateTcp();
        Assert.Equal(Errno.EINPROGRESS, client.Connect(TwoStacks.AddrB, 81));
        Assert.True(net.RunUntil(() => client.State == TcpState.Closed));
        Assert.NotEqual(0, client.Events & Readiness.Error);
        Assert.Equal(Errno.ECONNREFUSED, client.TakeError());
        Assert.Equal(Errno.None, client.TakeError());
        Assert.Equal(1, net.B.Stats.TcpOutRsts);
    }

    [Fact]
    public void Connect_AgainAfterRefused_SucceedsOnceAListenerExists()
    {
        var net = new TwoStacks();
        TcpEndpoint client = net.A.CreateTcp();
        client.Connect(TwoStacks.AddrB, 80);
        Assert.True(net.RunUntil(() => client.State == TcpState.Closed));
        Assert.Equal(Errno.ECONNREFUSED, client.TakeError());
        TcpEndpoint listener = net.B.CreateTcp();
        listener.Bind(Ip4Address.Any, 80);
        listener.Listen(1);
        Assert.Equal(Errno.EINPROGRESS, client.Connect(TwoStacks.AddrB, 80));
        Assert.True(net.RunUntil(() => client.State == TcpState.Established));
        Assert.Equal(Errno.EISCONN, client.Connect(TwoStacks.AddrB, 80));
    }

    [Fact]
    public void Connect_NoAnswer_SynRetriesBackOffThenEtimedout()
    {
        var net = new TwoStacks();
        var synTimes = new List<long>();
        net.LinkA.Filter = p =>
        {
            synTimes.Add(net.Clock.NowNs);
            return false;
        };
        TcpEndpoint client = net.A.CreateTcp();
        long start = net.Clock.NowNs;
        client.Connect(TwoStacks.AddrB, 80);
        Assert.True(net.RunUntil(() => client.State == TcpState.Closed));
        Assert.Equal(Errno.ETIMEDOUT, client.TakeError());
        // tcp_syn_retries = 6: the first SYN and six more, 1 s, 2 s, 4 s, ... apart.
        Assert.Equal(7, synTimes.Count);
        for (int i = 1; i < synTimes.Count; i++)
        {
            Assert.Equal(1_000_000_000L << (i - 1), synTimes[i] - synTimes[i - 1]);
        }
        Assert.Equal(start, synTimes[0]);
    }

    [Fact]
    public void Close_BothAtOnce_SimultaneousCloseEndsInTimeWaitThenClosed()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        client.Close();
        server.Close();
        Assert.Equal(TcpState.FinWait1, client.State);
        Assert.Equal(TcpState.FinWait1, server.State);
        net.Flush();
        Assert.Equal(TcpState.TimeWait, client.State);
        Assert.Equal(TcpState.TimeWait, server.State);
        long t = net.Clock.NowNs;
        Assert.True(net.RunUntil(() => client.State == TcpState.Closed && server.State == TcpState.Closed));
        Assert.Equal(60_000_000_000L, net.Clock.NowNs - t);
    }

    [Fact]
    public void Close_Orderly_PassiveSideGoesThroughCloseWaitAndLastAck()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        Assert.Equal(Errno.None, client.Shutdown(read: false, write: true));
        net.Flush();
        Assert.Equal(TcpState.FinWait2, client.State);
        Assert.Equal(TcpState.CloseWait, server.State);
        Assert.NotEqual(0, server.Events & Readiness.ReadHangUp);
        Assert.Equal(Errno.None, server.Receive(new byte[10], out int n));
        Assert.Equal(0, n);
        // The half-closed client still receives.
        Assert.Equal(Errno.None, server.Send("bye"u8, out _));
        net.Flush();
        var buf = new byte[10];
        Assert.Equal(Errno.None, client.Receive(buf, out n));
        Assert.Equal("bye", System.Text.Encoding.ASCII.GetString(buf, 0, n));
        server.Close();
        net.Flush();
        Assert.Equal(TcpState.Closed, server.State);
        Assert.Equal(TcpState.TimeWait, client.State);
        Assert.Equal(Errno.EPIPE, client.Send("x"u8, out _));
    }

    [Fact]
    public void Close_WithUnreadData_SendsRstAndPeerSeesEconnreset()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        client.Send("unread"u8, out _);
        net.Flush();
        server.Close();
        net.Flush();
        Assert.Equal(TcpState.Closed, client.State);
        Assert.Equal(Errno.ECONNRESET, client.Receive(new byte[4], out _));
    }

    [Fact]
    public void Rst_NotAtRcvNxt_OutsideWindowDroppedInWindowChallengeAcked()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, _, _) = net.Connect();
        TcpKey k = client.Key;
        uint rcvNxt = client.ReceiveNext;
        // RFC 5961 3.2: outside the window, silently dropped.
        net.LinkA.Inject(TcpSegmentBuilder.Build(k.RemoteAddress.V4, k.LocalAddress.V4, k.RemotePort, k.LocalPort, rcvNxt + 0x4000_0000, 0, TcpFlags.Rst));
        Assert.Equal(TcpState.Established, client.State);
        Assert.Empty(net.LinkA.Drain());
        // In the window but not at RCV.NXT: a challenge ACK, and the connection stays.
        net.LinkA.Inject(TcpSegmentBuilder.Build(k.RemoteAddress.V4, k.LocalAddress.V4, k.RemotePort, k.LocalPort, rcvNxt + 1, 0, TcpFlags.Rst));
        Assert.Equal(TcpState.Established, client.State);
        List<PacketBuffer> sent = net.LinkA.Drain();
        Assert.Single(sent);
        TcpSegment ack = TcpSegmentBuilder.Parse(sent[0], out _);
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(rcvNxt, ack.Ack);
        // Exactly at RCV.NXT: the connection is reset.
        net.LinkA.Inject(TcpSegmentBuilder.Build(k.RemoteAddress.V4, k.LocalAddress.V4, k.RemotePort, k.LocalPort, rcvNxt, 0, TcpFlags.Rst));
        Assert.Equal(TcpState.Closed, client.State);
        Assert.Equal(Errno.ECONNRESET, client.TakeError());
    }

    [Fact]
    public void Listen_BacklogFull_ExtraSynDroppedUntilAccept()
    {
        var net = new TwoStacks();
        TcpEndpoint listener = net.B.CreateTcp();
        listener.Bind(Ip4Address.Any, 80);
        listener.Listen(1);
        var clients = new List<TcpEndpoint>();
        for (int i = 0; i < 3; i++)
        {
            TcpEndpoint c = net.A.CreateTcp();
            c.Connect(TwoStacks.AddrB, 80);
            clients.Add(c);
            net.Flush();
        }
        // Linux queues backlog + 1 connections; the third SYN is dropped and retried.
        Assert.Equal(TcpState.Established, clients[0].State);
        Assert.Equal(TcpState.Established, clients[1].State);
        Assert.Equal(TcpState.SynSent, clients[2].State);
        Assert.Equal(Errno.None, listener.Accept(out _));
        Assert.Equal(Errno.None, listener.Accept(out _));
        Assert.True(net.RunUntil(() => clients[2].State == TcpState.Established));
        net.Flush();
        Assert.Equal(Errno.None, listener.Accept(out _));
        Assert.Equal(Errno.EAGAIN, listener.Accept(out _));
    }
}
