using System;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>
/// Buffers that grow as Linux's (tcp_sndbuf_expand, tcp_rcv_space_adjust, scaling_ratio) on one stack's
/// loopback with a fake clock: what a connection holds while one side does not read.
/// </summary>
public class TcpBufferGrowthTests
{
    private static (FakeClock Clock, NetworkStack Stack, TcpEndpoint Client, TcpEndpoint Server) Loopback()
    {
        var clock = new FakeClock();
        var stack = new NetworkStack(clock, seed: 3);
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        TcpEndpoint listener = stack.CreateTcp();
        Assert.Equal(Errno.None, listener.Bind(Ip4Address.Loopback, 8080));
        Assert.Equal(Errno.None, listener.Listen(4));
        TcpEndpoint client = stack.CreateTcp();
        Assert.Equal(Errno.EINPROGRESS, client.Connect(Ip4Address.Loopback, 8080));
        Assert.Equal(Errno.None, listener.Accept(out TcpEndpoint? server));
        return (clock, stack, client, server!);
    }

    private static void RunTimers(FakeClock clock, NetworkStack stack, long tickNs)
    {
        clock.NowNs += tickNs;
        stack.ProcessTimers();
    }

    [Fact]
    public void Connect_OnLoopback_SendBufferIsTcpSndbufExpandsTenSegments()
    {
        (_, _, TcpEndpoint client, TcpEndpoint server) = Loopback();
        // Linux with cubic or reno on lo: 2 x 10 segments x (64 KiB MSS + headers, rounded to 128 KiB, + the skb).
        Assert.Equal(2 * 10 * (131072 + 256), client.SendBufferSize);
        Assert.Equal(2 * 10 * (131072 + 256), server.SendBufferSize);
        Assert.Equal(TcpEndpoint.DefaultReceiveBuffer, server.ReceiveBufferSize);
    }

    [Fact]
    public void Send_ReaderStopsReading_SenderStillQueuesSeveralMiB()
    {
        (FakeClock clock, NetworkStack stack, TcpEndpoint client, TcpEndpoint server) = Loopback();
        var chunk = new byte[65536];
        var rbuf = new byte[65536];
        // First the reader keeps up for a while: the congestion window opens and the send buffer follows it.
        long sent = 0, read = 0;
        for (int round = 0; round < 10_000 && read < (16L << 20); round++)
        {
            if (client.Send(chunk, out int w) == Errno.None)
            {
                sent += w;
            }
            while (server.Receive(rbuf, out int r) == Errno.None && r > 0)
            {
                read += r;
            }
            RunTimers(clock, stack, 100_000);
        }
        Assert.Equal(16L << 20, read);
        Assert.Equal(TcpEndpoint.MaxSendBuffer, client.SendBufferSize); // tcp_wmem[2]
        // Then the reader stops: the send buffer (about tcp_wmem[2] of payload) and the receiver's window fill.
        long queuedBefore = sent - read;
        for (int round = 0; round < 10_000; round++)
        {
            if (client.Send(chunk, out int w) != Errno.None)
            {
                RunTimers(clock, stack, 1_000_000);
                if (client.Send(chunk, out w) != Errno.None)
                {
                    break;
                }
            }
            sent += w;
        }
        long held = sent - read;
        Assert.True(held > queuedBefore);
        // The send buffer holds tcp_wmem[2] less its skbs' overhead (Linux 6.18 on lo: 4243968 bytes queued to a
        // fresh receiver that never reads, 4 MiB of them in the send queue); the receiver's window, autotuned
        // while it kept up, holds the rest.
        Assert.InRange(client.QueuedSendBytes, (4L << 20) - (128 << 10), 4L << 20);
        Assert.Equal(held - client.QueuedSendBytes, server.ReadableBytes);
        Assert.True(server.ReadableBytes > TcpEndpoint.DefaultReceiveBuffer / 2);
        Assert.Equal(0, client.Events & Readiness.Writable);
    }

    /// <summary>
    /// Issue 18's echo: a client sends 8 MiB before reading to a server that echoes 4 KiB at a time. Both send
    /// buffers and both windows together must hold what is in flight, as Linux's do.
    /// </summary>
    [Fact]
    public void Echo_ClientSendsEightMiBBeforeReading_Completes()
    {
        (FakeClock clock, NetworkStack stack, TcpEndpoint client, TcpEndpoint server) = Loopback();
        const long total = 8L << 20;
        long sent = 0, echoed = 0, got = 0;
        var chunk = new byte[65536];
        var pending = new byte[4096];
        int pendingLength = 0, pendingOffset = 0;
        var rbuf = new byte[65536];
        bool clientDone = false;
        for (int round = 0; round < 100_000 && got < total; round++)
        {
            if (sent < total && client.Send(chunk.AsSpan(0, (int)Math.Min(chunk.Length, total - sent)), out int w) == Errno.None)
            {
                sent += w;
            }
            clientDone = sent == total;
            for (int k = 0; k < 256; k++)
            {
                if (pendingLength == 0)
                {
                    if (server.Receive(pending, out int r) != Errno.None || r == 0)
                    {
                        break;
                    }
                    pendingLength = r;
                    pendingOffset = 0;
                }
                if (server.Send(pending.AsSpan(pendingOffset, pendingLength), out int s) != Errno.None)
                {
                    break;
                }
                pendingOffset += s;
                pendingLength -= s;
                echoed += s;
            }
            if (clientDone)
            {
                while (client.Receive(rbuf, out int r) == Errno.None && r > 0)
                {
                    got += r;
                }
            }
            RunTimers(clock, stack, 20_000);
        }
        Assert.True(got == total, $"sent {sent} echoed {echoed} got {got}: client queues {client.QueuedSendBytes} of {client.SendBufferSize}, server {server.QueuedSendBytes} of {server.SendBufferSize}");
    }
}
