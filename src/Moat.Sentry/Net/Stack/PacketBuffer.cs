using System;
using System.Collections.Generic;
using System.Threading;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// One packet in a pooled byte array, with headroom in front so that each layer prepends its header in place
/// instead of copying the payload. Received packets keep their full frame; the view (<see cref="Start"/>,
/// <see cref="Length"/>) narrows as each layer strips its header. Owned by one holder at a time: whoever
/// takes it either passes it on or calls <see cref="Release"/>.
/// </summary>
internal sealed class PacketBuffer
{
    /// <summary>Room for Ethernet (14) + IPv4 with options (60) + TCP with options (60).</summary>
    public const int Headroom = 160;

    private const int SmallSize = 2048;
    // 64 bytes of slack: a TAP read holds a 10-byte virtio header and a coalesced frame of up to 14 + 65535 bytes.
    private const int LargeSize = 65536 + 64 + Headroom;
    private const int PoolLimit = 4096;

    private static readonly Lock PoolMu = new();
    // Protected by PoolMu.
    private static readonly List<PacketBuffer> SmallPool = [];
    private static readonly List<PacketBuffer> LargePool = [];

    private PacketBuffer(int size) => Data = new byte[size];

    public byte[] Data { get; }

    /// <summary>Offset of the current view in <see cref="Data"/>.</summary>
    public int Start { get; private set; }

    /// <summary>Length of the current view.</summary>
    public int Length { get; private set; }

    /// <summary>Source and destination of the IPv4 or IPv6 header this packet arrived with (receive path).</summary>
    public IpAddress Source;
    public IpAddress Destination;

    /// <summary>The TTL (hop limit) and TOS (traffic class) it arrived with (receive path; IP_RECVTTL and friends).</summary>
    public byte Ttl;
    public byte Tos;

    /// <summary>CLOCK_REALTIME nanoseconds of its arrival at an endpoint that asked for it (SO_TIMESTAMP), else 0.</summary>
    public long ArrivalNs;

    /// <summary>The transport source port (receive path, UDP datagrams queued for a reader).</summary>
    public ushort SourcePort;

    /// <summary>The network header's offset in <see cref="Data"/> (receive path; ICMP errors quote it).</summary>
    public int NetworkStart;

    /// <summary>
    /// Linux's CHECKSUM_PARTIAL. Sent: the TCP segment or UDP datagram carries only the pseudo-header's sum in its
    /// checksum field, left to the device (on lo nothing completes it; a TAP link asks the host to, with
    /// VIRTIO_NET_HDR_F_NEEDS_CSUM). Received: the frame came from memory that was never on a wire (lo, or a TAP
    /// frame marked NEEDS_CSUM or DATA_VALID by the host), so its receiver does not verify it, as Linux's
    /// skb_csum_unnecessary. False for every other packet.
    /// </summary>
    public bool ChecksumPartial;

    /// <summary>
    /// GSO: a TCP segment of more than one MSS in one frame. Received (a TAP frame the host coalesced, gso_type
    /// TCPV4): the size of the segments it stands for, which the TCP counts as that many for its ACKs and buffer
    /// accounting, as Linux's GRO. Sent: the MSS the link cuts it into (TSO). 0 for an ordinary packet.
    /// </summary>
    public int GsoSize;

    /// <summary>
    /// A TCP segment on the loopback whose payload was left in its sender's send queue (nothing on the way
    /// reads it: no packet or raw socket, no checksum): the receiver copies it from there into its receive
    /// queue, so a looped byte is copied once between the two. The stack drains the loopback before it
    /// releases its lock, while the sender still holds every unacknowledged byte.
    /// </summary>
    public TcpEndpoint? PayloadFrom;

    public Span<byte> Span => Data.AsSpan(Start, Length);

    /// <summary>A buffer whose view is empty and has at least <paramref name="payload"/> bytes after the headroom.</summary>
    public static PacketBuffer Rent(int payload)
    {
        bool small = payload + Headroom <= SmallSize;
        PacketBuffer? p = null;
        // A pooled large buffer holds 64 KiB after the headroom; a bigger payload (a 64 KiB GSO frame with its
        // Ethernet header) gets a buffer of its own, which is not pooled.
        if (payload + Headroom > LargeSize)
        {
            p = new PacketBuffer(payload + Headroom);
        }
        else
        {
            lock (PoolMu)
            {
                List<PacketBuffer> pool = small ? SmallPool : LargePool;
                if (pool.Count > 0)
                {
                    p = pool[^1];
                    pool.RemoveAt(pool.Count - 1);
                }
            }
        }
        p ??= new PacketBuffer(small ? SmallSize : LargeSize);
        p.Start = Headroom;
        p.Length = 0;
        p.NetworkStart = 0;
        p.ChecksumPartial = false;
        p.GsoSize = 0;
        p.PayloadFrom = null;
        return p;
    }

    /// <summary>A buffer holding a copy of <paramref name="frame"/> (a link's received frame).</summary>
    public static PacketBuffer CopyOf(ReadOnlySpan<byte> frame)
    {
        PacketBuffer p = Rent(frame.Length);
        frame.CopyTo(p.Append(frame.Length));
        return p;
    }

    public void Release()
    {
        PayloadFrom = null;
        lock (PoolMu)
        {
            List<PacketBuffer> pool = Data.Length == SmallSize ? SmallPool : LargePool;
            if (pool.Count < PoolLimit && Data.Length <= LargeSize)
            {
                pool.Add(this);
            }
        }
    }

    /// <summary>Grows the view at its end by <paramref name="n"/> bytes and returns them.</summary>
    public Span<byte> Append(int n)
    {
        Span<byte> s = Data.AsSpan(Start + Length, n);
        Length += n;
        return s;
    }

    /// <summary>Grows the view at its front by <paramref name="n"/> bytes (a header) and returns them.</summary>
    public Span<byte> Prepend(int n)
    {
        Start -= n;
        Length += n;
        return Data.AsSpan(Start, n);
    }

    /// <summary>Drops <paramref name="n"/> bytes at the front of the view (a parsed header).</summary>
    public void TrimFront(int n)
    {
        Start += n;
        Length -= n;
    }

    /// <summary>Cuts the view to <paramref name="n"/> bytes (link padding after the IP datagram).</summary>
    public void Truncate(int n) => Length = Math.Min(Length, n);

    /// <summary>Sets the view to [start, start+length) of <see cref="Data"/>.</summary>
    public void SetView(int start, int length)
    {
        Start = start;
        Length = length;
    }
}
