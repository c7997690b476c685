using System.Text;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>What the netstack sockets (StackTcpSocket, StackUdpSocket, StackPingSocket) rely on from the endpoints: Linux's answers.</summary>
public sealed class SocketApiTests
{
    private sealed class Counter : IReadinessListener
    {
        public int Calls;
        public int Last;

        public void OnReadinessChanged(int events)
        {
            Calls++;
            Last = events;
        }
    }

    [Fact]
    public void Tcp_PeekAtAnOffset_ReadsOnWithoutConsuming()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        Assert.Equal(Errno.None, client.Send("abcdef"u8, out int n));
        Assert.Equal(6, n);
        net.Flush();
        var b = new byte[3];
        Assert.Equal(Errno.None, server.Receive(b, out int r, peek: true, peekOffset: 2));
        Assert.Equal("cde", Encoding.ASCII.GetString(b, 0, r));
        // Past what has arrived: nothing more yet (the socket's copy stops there with what it peeked).
        Assert.Equal(Errno.EAGAIN, server.Receive(b, out r, peek: true, peekOffset: 6));
        Assert.Equal(0, r);
        Assert.Equal(Errno.None, server.Receive(b, out r));
        Assert.Equal("abc", Encoding.ASCII.GetString(b, 0, r));
    }

    [Fact]
    public void Tcp_SendOnAFreshSocket_IsEpipe_ConnectOnAListener_IsEisconn()
    {
        var net = new TwoStacks();
        TcpEndpoint fresh = net.A.CreateTcp();
        Assert.Equal(Errno.EPIPE, fresh.Send("x"u8, out _));
        TcpEndpoint l = net.A.CreateTcp();
        Assert.Equal(Errno.None, l.Listen(1));
        Assert.Equal(Errno.EISCONN, l.Connect(TwoStacks.AddrB, 80));
    }

    [Fact]
    public void Tcp_ReuseAddress_ListenBesideABoundSocket_NotBesideAListener()
    {
        var net = new TwoStacks();
        TcpEndpoint a = net.A.CreateTcp();
        TcpEndpoint b = net.A.CreateTcp();
        a.ReuseAddress = b.ReuseAddress = true;
        Assert.Equal(Errno.None, a.Bind(TwoStacks.AddrA, 9000));
        Assert.Equal(Errno.None, b.Bind(TwoStacks.AddrA, 9000));
        Assert.Equal(Errno.None, a.Listen(1));
        Assert.Equal(Errno.EADDRINUSE, b.Listen(1));
    }

    [Fact]
    public void Tcp_ReusePortOnBoth_SharesThePort()
    {
        var net = new TwoStacks();
        TcpEndpoint a = net.A.CreateTcp();
        TcpEndpoint b = net.A.CreateTcp();
        TcpEndpoint c = net.A.CreateTcp();
        a.ReusePort = b.ReusePort = true;
        Assert.Equal(Errno.None, a.Bind(TwoStacks.AddrA, 9001));
        Assert.Equal(Errno.None, a.Listen(1));
        Assert.Equal(Errno.None, b.Bind(TwoStacks.AddrA, 9001));
        Assert.Equal(Errno.EADDRINUSE, c.Bind(TwoStacks.AddrA, 9001));
    }

    [Fact]
    public void Tcp_Abort_ResetsThePeer()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        server.Abort();
        net.Flush();
        Assert.Equal(Errno.ECONNRESET, client.Receive(new byte[4], out _));
        Assert.NotEqual(0, client.Events & Readiness.HangUp);
    }

    [Fact]
    public void Udp_ReuseAddressOnBoth_SharesThePort_Disconnect_ForgetsThePeer()
    {
        var net = new TwoStacks();
        UdpEndpoint a = net.A.CreateUdp();
        UdpEndpoint b = net.A.CreateUdp();
        UdpEndpoint c = net.A.CreateUdp();
        a.ReuseAddress = b.ReuseAddress = true;
        Assert.Equal(Errno.None, a.Bind(Ip4Address.Any, 5353));
        Assert.Equal(Errno.None, b.Bind(Ip4Address.Any, 5353));
        Assert.Equal(Errno.EADDRINUSE, c.Bind(Ip4Address.Any, 5353));
        Assert.Equal(Errno.None, a.Connect(TwoStacks.AddrB, 53));
        Assert.True(a.Connected);
        a.Disconnect();
        Assert.False(a.Connected);
        Assert.Equal(Errno.EDESTADDRREQ, a.SendTo("x"u8));
    }

    [Fact]
    public void Ping_ReplyWakesTheListener_AndIsReadWholeWithItsHeader()
    {
        var net = new TwoStacks();
        PingEndpoint ping = net.A.CreatePing();
        var counter = new Counter();
        ping.Listener = counter;
        Assert.Equal(Errno.None, ping.Bind(0));
        Assert.Equal(0, ping.Events & Readiness.Readable);
        Assert.Equal(Errno.None, ping.SendEcho(TwoStacks.AddrB, 9, "moat"u8));
        net.Flush();
        Assert.True(counter.Calls > 0);
        Assert.NotEqual(0, counter.Last & Readiness.Readable);
        var m = new byte[64];
        Assert.Equal(Errno.None, ping.ReceiveMessage(m, out int len, out Ip4Address from, peek: true));
        Assert.Equal(Errno.None, ping.ReceiveMessage(m, out len, out from, peek: false));
        Assert.Equal(12, len);
        Assert.Equal(0, m[0]); // echo reply
        Assert.Equal(9, (m[6] << 8) | m[7]);
        Assert.Equal("moat", Encoding.ASCII.GetString(m, 8, 4));
        Assert.Equal(TwoStacks.AddrB, from);
        Assert.Equal(Errno.EAGAIN, ping.ReceiveMessage(m, out _, out _, peek: false));
    }
}
