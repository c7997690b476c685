using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>
/// The TAP link's offloads: the virtio_net_hdr in front of each frame, and what the stack does with what it
/// says: TCP segments larger than the MTU (the host's TSO frames taken whole, and the stack's own for the host to
/// cut) and checksums left partial.
/// </summary>
public class OffloadTests
{
    private static byte Pattern(long i) => (byte)((i * 13) + (i >> 9));

    [Fact]
    public void VirtioHeader_ReadWrite_LittleEndianFieldsInOrder()
    {
        byte[] wire = [0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00];
        var h = VirtioNetHeader.Read(wire);
        Assert.True(h.NeedsCsum);
        Assert.False(h.DataValid);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, h.GsoType);
        Assert.Equal(0x42, h.HdrLen);
        Assert.Equal(1448, h.GsoSize);
        Assert.Equal(34, h.CsumStart);
        Assert.Equal(16, h.CsumOffset);
        var back = new byte[VirtioNetHeader.Length];
        h.Write(back);
        Assert.Equal(wire, back);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, VirtioNetHeader.Read([0, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]).GsoKind); // the ECN bit aside
    }

    [Fact]
    public void VirtioHeader_ApplyTo_TrustsPartialAndCheckedSumsTakesTcpGsoRefusesOthers()
    {
        PacketBuffer p = PacketBuffer.Rent(100);
        Assert.True(new VirtioNetHeader { Flags = VirtioNetHeader.FlagNeedsCsum, GsoType = VirtioNetHeader.GsoTcpV4, GsoSize = 1448 }.ApplyTo(p));
        Assert.True(p.ChecksumPartial);
        Assert.Equal(1448, p.GsoSize);
        p.Release();

        p = PacketBuffer.Rent(100);
        Assert.True(new VirtioNetHeader { Flags = VirtioNetHeader.FlagDataValid }.ApplyTo(p));
        Assert.True(p.ChecksumPartial);
        Assert.Equal(0, p.GsoSize);
        Assert.True(default(VirtioNetHeader).ApplyTo(p));
        Assert.False(p.ChecksumPartial); // a frame without a word from the host is verified
        Assert.False(new VirtioNetHeader { GsoType = VirtioNetHeader.GsoUdpL4, GsoSize = 1400 }.ApplyTo(p));
        Assert.False(new VirtioNetHeader { GsoType = VirtioNetHeader.GsoTcpV4 }.ApplyTo(p)); // no segment size
        p.Release();
    }

    private static byte[] Frame(byte protocol, int transportHeader, int payload)
    {
        var f = new byte[14 + 20 + transportHeader + payload];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), NetworkStack.EtherTypeIpv4);
        f[14] = 0x45;
        f[14 + 9] = protocol;
        if (protocol == Ipv4Header.ProtocolTcp)
        {
            f[34 + 12] = (byte)((transportHeader / 4) << 4);
        }
        return f;
    }

    [Fact]
    public void VirtioHeader_ForFrame_DescribesWhatTheDeviceMustComplete()
    {
        // A complete frame, or an ARP one: a zero header.
        Assert.Equal(default, VirtioNetHeader.ForFrame(Frame(Ipv4Header.ProtocolTcp, 32, 100), checksumPartial: false, gsoSize: 0));
        byte[] arp = new byte[42];
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(12), NetworkStack.EtherTypeArp);
        Assert.Equal(default, VirtioNetHeader.ForFrame(arp, checksumPartial: true, gsoSize: 0));

        // A TCP segment whose checksum is left partial: NEEDS_CSUM from the TCP header, the field 16 bytes in.
        VirtioNetHeader tcp = VirtioNetHeader.ForFrame(Frame(Ipv4Header.ProtocolTcp, 32, 1448), checksumPartial: true, gsoSize: 1448);
        Assert.Equal(VirtioNetHeader.FlagNeedsCsum, tcp.Flags);
        Assert.Equal(VirtioNetHeader.GsoNone, tcp.GsoType); // one MSS: nothing to cut
        Assert.Equal(34, tcp.CsumStart);
        Assert.Equal(16, tcp.CsumOffset);

        // Ten MSS in one frame: TCPV4 GSO with the headers' length and the MSS.
        VirtioNetHeader tso = VirtioNetHeader.ForFrame(Frame(Ipv4Header.ProtocolTcp, 32, 14480), checksumPartial: true, gsoSize: 1448);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, tso.GsoType);
        Assert.Equal(1448, tso.GsoSize);
        Assert.Equal(14 + 20 + 32, tso.HdrLen);

        VirtioNetHeader udp = VirtioNetHeader.ForFrame(Frame(Ipv4Header.ProtocolUdp, 8, 10), checksumPartial: true, gsoSize: 0);
        Assert.Equal(VirtioNetHeader.FlagNeedsCsum, udp.Flags);
        Assert.Equal(34, udp.CsumStart);
        Assert.Equal(6, udp.CsumOffset);
    }

    /// <summary>Sends <paramref name="total"/> bytes from A's client to B's server; returns them as B read them.</summary>
    private static long Transfer(TwoStacks net, TcpEndpoint from, TcpEndpoint to, int total)
    {
        long sent = 0, received = 0;
        var chunk = new byte[64 * 1024];
        var rbuf = new byte[256 * 1024];
        net.RunUntil(() => received == total, () =>
        {
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
                    Assert.True(rbuf[i] == Pattern(received + i), $"byte {received + i} differs");
                }
                received += r;
            }
        }, maxRounds: 200_000);
        return received;
    }

    [Fact]
    public void Tso_SenderWritesSegmentsLargerThanTheMtu_ReceiverTakesThemWholeWithPartialSums()
    {
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        net.LinkA.Offloads = LinkOffloads.TxChecksum | LinkOffloads.Tso;
        int largest = 0, coalesced = 0;
        net.LinkA.Filter = p =>
        {
            int ihl = (p.Span[0] & 0xF) * 4;
            Assert.True(TcpSegment.TryParse(p.Span[ihl..], out TcpSegment s));
            Assert.True(p.ChecksumPartial); // left to the "device", as over a TAP with NEEDS_CSUM
            // The field holds the pseudo-header's sum over the whole segment, so a full check fails.
            Assert.NotEqual(0, TcpSegment.ComputeChecksum(TwoStacks.AddrA, TwoStacks.AddrB, p.Span[ihl..]));
            largest = Math.Max(largest, s.DataLength);
            if (s.DataLength > client.Mss)
            {
                coalesced++;
                Assert.Equal(client.Mss, p.GsoSize);
                Assert.True(s.DataLength % client.Mss == 0 || s.Has(TcpFlags.Psh), "a TSO segment's tail is short only at the end");
            }
            return true;
        };
        const int total = 4 << 20;
        Assert.Equal(total, Transfer(net, client, server, total));
        Assert.True(largest > 1500, $"largest segment {largest}");
        Assert.True(largest <= ushort.MaxValue - 40);
        Assert.True(coalesced > 10, $"{coalesced} TSO segments");
    }

    [Fact]
    public void Tso_PartialSumWithoutTheMark_IsDroppedAsABadChecksum()
    {
        // The same frames, arriving without NEEDS_CSUM (as from a wire): their checksums are verified and fail.
        var net = new TwoStacks();
        (TcpEndpoint client, TcpEndpoint server, _) = net.Connect();
        net.LinkA.Offloads = LinkOffloads.TxChecksum | LinkOffloads.Tso;
        net.LinkA.Filter = p =>
        {
            p.ChecksumPartial = false;
            p.GsoSize = 0;
            return true;
        };
        Assert.True(client.Send(new byte[20000], out int w) == Errno.None && w == 20000);
        net.Flush();
        var buf = new byte[1024];
        Assert.Equal(Errno.EAGAIN, server.Receive(buf, out _));
    }

    [Fact]
    public void CoalescedSegment_FromTheHost_IsReadWholeAndAckedAtOnce()
    {
        // A peer (the test) sends one frame carrying 20 segments' worth, as a host's TSO frame read from a TAP:
        // GsoSize set, the checksum only the pseudo-header's (NEEDS_CSUM).
        var net = new TwoStacks();
        TcpEndpoint listener = net.B.CreateTcp();
        Assert.Equal(Errno.None, listener.Bind(Ip4Address.Any, 90));
        Assert.Equal(Errno.None, listener.Listen(4));
        PacketBuffer syn = TcpSegmentBuilder.Build(TwoStacks.AddrA, TwoStacks.AddrB, 40000, 90, 1000, 0, TcpFlags.Syn);
        net.LinkB.Filter = null;
        net.LinkB.Inject(syn);
        List<PacketBuffer> out1 = net.LinkB.Drain();
        Assert.True(TcpSegment.TryParse(Assert.Single(out1).Span[20..], out TcpSegment synAck), "synack parse");
        Assert.True(synAck.Has(TcpFlags.Syn) && synAck.Has(TcpFlags.Ack), $"flags {synAck.Flags:x}");
        out1[0].Release();
        net.LinkB.Inject(TcpSegmentBuilder.Build(TwoStacks.AddrA, TwoStacks.AddrB, 40000, 90, 1001, synAck.Seq + 1, TcpFlags.Ack));
        Assert.Equal(Errno.None, listener.Accept(out TcpEndpoint? server));
        net.LinkB.Drain().ForEach(p => p.Release());

        const int mss = 536; // no MSS option in the SYN: RFC 1122's default
        uint seq = 1001;
        // First the quick-ACK mode's share of single segments (each acknowledged at once), so that what follows
        // meets the delayed-ACK rule: an ACK for every second segment, else the 40 ms timer.
        var one = new byte[mss];
        for (int i = 0; i < 16; i++)
        {
            net.LinkB.Inject(TcpSegmentBuilder.Build(TwoStacks.AddrA, TwoStacks.AddrB, 40000, 90, seq, synAck.Seq + 1, TcpFlags.Ack, one));
            seq += mss;
        }
        net.LinkB.Drain().ForEach(p => p.Release());
        var drain = new byte[16 * mss];
        Assert.Equal(Errno.None, server!.Receive(drain, out int first));
        Assert.Equal(16 * mss, first);
        net.LinkB.Drain().ForEach(p => p.Release()); // a window update, if the read opened one
        net.LinkB.Inject(TcpSegmentBuilder.Build(TwoStacks.AddrA, TwoStacks.AddrB, 40000, 90, seq, synAck.Seq + 1, TcpFlags.Ack, one));
        seq += mss;
        Assert.Empty(net.LinkB.Drain()); // one segment: its ACK is delayed

        const int segments = 20;
        var data = new byte[segments * mss];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = Pattern(i);
        }
        PacketBuffer big = TcpSegmentBuilder.Build(TwoStacks.AddrA, TwoStacks.AddrB, 40000, 90, seq, synAck.Seq + 1, TcpFlags.Ack | TcpFlags.Psh, data);
        int ihl = (big.Span[0] & 0xF) * 4;
        BinaryPrimitives.WriteUInt16BigEndian(big.Span[(ihl + 16)..], TcpSegment.PartialChecksum(TwoStacks.AddrA, TwoStacks.AddrB, 20 + data.Length));
        big.ChecksumPartial = true;
        big.GsoSize = mss;
        net.LinkB.Inject(big);

        // Twenty segments in one frame count as twenty: acknowledged at once, up to the end (the bad full
        // checksum did not drop it).
        PacketBuffer ack = Assert.Single(net.LinkB.Drain());
        Assert.True(TcpSegment.TryParse(ack.Span[20..], out TcpSegment a), "ack parse");
        Assert.Equal(seq + (uint)data.Length, a.Ack);
        ack.Release();
        var rbuf = new byte[data.Length + mss + 10];
        Assert.Equal(Errno.None, server.Receive(rbuf, out int r));
        Assert.Equal(mss + data.Length, r);
        Assert.Equal(data, rbuf.AsSpan(mss, data.Length).ToArray());
    }
}
