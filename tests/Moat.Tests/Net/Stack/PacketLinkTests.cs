using System;
using System.Collections.Concurrent;
using System.Threading;
using Moat.Host;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>
/// PacketLink's reader and writer over a SOCK_SEQPACKET pair standing in for the pod interface's AF_PACKET socket
/// (one message a frame, as there): a frame up to the MTU lands in one pooled buffer, a larger one (a veth peer's
/// GSO packet) is put together from the buffer and the spare, and a written frame goes out whole.
/// </summary>
public sealed class PacketLinkTests
{
    private sealed class Collector : ILinkDispatcher
    {
        public readonly BlockingCollection<byte[]> Frames = [];

        public void DeliverPacket(PacketBuffer packet)
        {
            Frames.Add(packet.Span.ToArray());
            packet.Release();
        }
    }

    [Fact]
    public void Frames_BothWays_Whole_AGsoSizedOneToo()
    {
        Assert.Equal(0, HostSocket.SocketPair(HostSocket.SOCK_SEQPACKET, out SafeFdHandle mine, out SafeFdHandle theirs));
        using (mine)
        using (var link = new PacketLink(theirs, "eth0", new MacAddress(0x02_00_00_00_00_07), 1500))
        {
            var collector = new Collector();
            link.Attach(collector);
            var random = new Random(18);
            foreach (int size in new[] { 60, 1514, 40_014, 65_549 })
            {
                byte[] frame = new byte[size];
                random.NextBytes(frame);
                Assert.Equal(size, HostSocket.Send(mine.Fd, frame, -1));
                Assert.True(collector.Frames.TryTake(out byte[]? got, 10_000), $"the {size}-byte frame did not arrive");
                Assert.Equal(frame, got);
            }

            PacketBuffer p = PacketBuffer.Rent(1514);
            random.NextBytes(p.Append(1514));
            byte[] sent = p.Span.ToArray();
            link.WritePacket(p);
            byte[] buffer = new byte[4096];
            long n = HostSocket.Receive(mine.Fd, buffer, out int fd);
            Assert.Equal(-1, fd);
            Assert.Equal(sent, buffer.AsSpan(0, (int)n).ToArray());
        }
    }
}
