using System.Collections.Generic;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// The loopback device: every packet written comes back in as received. The stack holds its lock while it
/// writes, so the packet is queued here and handed back by <see cref="NetworkStack"/> once the lock is free
/// (a write never re-enters the stack).
/// </summary>
internal sealed class LoopbackLink : ILinkEndpoint
{
    public const int LoopbackMtu = 65536;

    private ILinkDispatcher? _dispatcher;

    // Protected by the owning stack's lock (written under it, drained under it).
    private readonly Queue<PacketBuffer> _queue = new();

    public int Mtu => LoopbackMtu;

    public LinkKind Kind => LinkKind.Ip;

    public MacAddress Address => MacAddress.Zero;

    public LinkOffloads Offloads => LinkOffloads.None;

    public void Attach(ILinkDispatcher dispatcher) => _dispatcher = dispatcher;

    public void WritePacket(PacketBuffer packet) => _queue.Enqueue(packet);

    /// <summary>Takes the next looped packet. Called by the stack with its lock held.</summary>
    internal bool TryTake(out PacketBuffer? packet) => _queue.TryDequeue(out packet);

    internal ILinkDispatcher? Dispatcher => _dispatcher;
}
