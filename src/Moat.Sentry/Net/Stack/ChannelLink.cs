using System;
using System.Collections.Generic;
using System.Threading;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// A test link: written packets wait in a queue until the test moves them (<see cref="TransferTo"/>) to the
/// peer link, dropping, duplicating or reordering some on the way with a seeded random source, so runs are
/// repeatable.
/// </summary>
internal sealed class ChannelLink : ILinkEndpoint
{
    private readonly Lock _mu = new();
    // Protected by _mu.
    private readonly List<PacketBuffer> _outbound = [];

    private ILinkDispatcher? _dispatcher;

    public ChannelLink(int mtu = 1500, LinkKind kind = LinkKind.Ip, MacAddress address = default)
    {
        Mtu = mtu;
        Kind = kind;
        Address = address;
    }

    public int Mtu { get; }

    public LinkKind Kind { get; }

    public MacAddress Address { get; }

    /// <summary>What the test's "device" offers: segments then cross as they were written (partial, coalesced), as over a TAP.</summary>
    public LinkOffloads Offloads { get; set; }

    /// <summary>Probability (0..1) that a packet is dropped, duplicated, or swapped with the next one.</summary>
    public double Loss { get; set; }

    public double Duplication { get; set; }

    public double Reordering { get; set; }

    public Random Random { get; set; } = new(1);

    /// <summary>Packets written and not yet transferred.</summary>
    public int Pending
    {
        get
        {
            lock (_mu)
            {
                return _outbound.Count;
            }
        }
    }

    /// <summary>A filter the test may set: return false to drop a packet (its view is the frame).</summary>
    public Func<PacketBuffer, bool>? Filter { get; set; }

    public void Attach(ILinkDispatcher dispatcher) => _dispatcher = dispatcher;

    public void WritePacket(PacketBuffer packet)
    {
        lock (_mu)
        {
            _outbound.Add(packet);
        }
    }

    /// <summary>Removes and returns every written packet (the test inspects them), releasing nothing.</summary>
    public List<PacketBuffer> Drain()
    {
        lock (_mu)
        {
            List<PacketBuffer> all = [.. _outbound];
            _outbound.Clear();
            return all;
        }
    }

    /// <summary>Injects a frame as if received.</summary>
    public void Inject(PacketBuffer packet) => _dispatcher!.DeliverPacket(packet);

    /// <summary>Moves the written packets to <paramref name="peer"/>, applying loss, duplication and reordering.</summary>
    public int TransferTo(ChannelLink peer)
    {
        List<PacketBuffer> batch = Drain();
        for (int i = 0; i + 1 < batch.Count; i++)
        {
            if (Reordering > 0 && Random.NextDouble() < Reordering)
            {
                (batch[i], batch[i + 1]) = (batch[i + 1], batch[i]);
                i++;
            }
        }
        foreach (PacketBuffer p in batch)
        {
            if ((Loss > 0 && Random.NextDouble() < Loss) || (Filter != null && !Filter(p)))
            {
                p.Release();
                continue;
            }
            if (Duplication > 0 && Random.NextDouble() < Duplication)
            {
                PacketBuffer copy = PacketBuffer.CopyOf(p.Span);
                copy.ChecksumPartial = p.ChecksumPartial;
                copy.GsoSize = p.GsoSize;
                peer.Inject(copy);
            }
            peer.Inject(p);
        }
        return batch.Count;
    }
}
