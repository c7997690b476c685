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

    public Ip4Address Address { get; }

    public int Prefix { get; }

    public bool IsLoopback => Link is LoopbackLink;

    /// <summary>Mtu of the IP layer on this interface.</summary>
    public int Mtu => Link.Mtu;

    public Ip4Address BroadcastAddress => Prefix >= 31 ? Ip4Address.Broadcast : new(Address.Value | (uint.MaxValue >> Prefix));

    public void DeliverPacket(PacketBuffer packet) => _stack.DeliverPacket(this, packet);
}
