using System;

namespace Moat.Sentry.Net.Stack;

/// <summary>A network interface of the stack: one link with one IPv4 address and its subnet.</summary>
internal sealed class Nic : ILinkDispatcher
{
    private readonly NetworkStack _stack;

    public Nic(NetworkStack stack, int id, ILinkEndpoint link, Ip4Address address, int prefix)
    {
        _stack = stack;
        Id = id;
        Link = link;
        Address = address;
        Prefix = prefix;
    }

    public int Id { get; }

    /// <summary>The stack this interface belongs to.</summary>
    internal NetworkStack Stack => _stack;

    public ILinkEndpoint Link { get; }

    /// <summary>The interface's name in the sandbox when it has one of its own (an interface taken over from a pod); null: lo, eth0, ...</summary>
    public string? Name { get; init; }

    public Ip4Address Address { get; }

    public int Prefix { get; }

    public bool IsLoopback => Link is LoopbackLink;

    /// <summary>Mtu of the IP layer on this interface.</summary>
    public int Mtu => Link.Mtu;

    public Ip4Address BroadcastAddress => Prefix >= 31 ? Ip4Address.Broadcast : new(Address.Value | (uint.MaxValue >> Prefix));

    public void DeliverPacket(PacketBuffer packet) => _stack.DeliverPacket(this, packet);

    // What /proc/net/dev and IFLA_STATS report: written under the stack's lock, read without it (a stale count
    // is fine there). Bytes as Linux counts them: the whole frame, on the loopback its 14-byte Ethernet header too.
    internal long RxPackets;
    internal long RxBytes;
    internal long TxPackets;
    internal long TxBytes;

    /// <summary>Counts a frame this interface received or sent: on the loopback <paramref name="frame"/> is the bare IP packet.</summary>
    internal void CountLocked(bool received, ReadOnlySpan<byte> frame)
    {
        long bytes = IsLoopback ? LoopbackFrameBytes(frame) : frame.Length;
        if (received)
        {
            RxPackets++;
            RxBytes += bytes;
        }
        else
        {
            TxPackets++;
            TxBytes += bytes;
        }
    }

    // A loopback packet's length from its IP header (a TCP segment's payload may still be in the sender's queue,
    // not in the buffer), plus the Ethernet header Linux's lo carries.
    private static long LoopbackFrameBytes(ReadOnlySpan<byte> ip)
    {
        if (ip.Length >= 20 && ip[0] >> 4 == 4)
        {
            return 14 + System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        }

        if (ip.Length >= 40 && ip[0] >> 4 == 6)
        {
            return 14 + 40 + System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        }

        return 14 + ip.Length;
    }
}
