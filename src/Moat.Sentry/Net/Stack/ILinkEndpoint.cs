namespace Moat.Sentry.Net.Stack;

/// <summary>What a link carries: bare IP packets (loopback, TUN, test channels) or Ethernet frames (TAP, veth).</summary>
internal enum LinkKind
{
    Ip,
    Ethernet,
}

/// <summary>
/// What the device under a link completes for the stack (Linux's netdev features): a TCP or UDP checksum left
/// partial (NETIF_F_HW_CSUM), and TCP segments larger than the MTU cut into MSS-sized ones (NETIF_F_TSO).
/// </summary>
[System.Flags]
internal enum LinkOffloads
{
    None = 0,
    TxChecksum = 1,
    Tso = 2,
}

/// <summary>Where a link hands received packets: the stack's NIC. Takes ownership of the buffer.</summary>
internal interface ILinkDispatcher
{
    void DeliverPacket(PacketBuffer packet);
}

/// <summary>
/// The bottom of the stack: a device that sends and receives whole frames. Writes take ownership of the
/// buffer (the link releases it when done). A link delivers received frames to the dispatcher it was
/// attached to, from any thread, without holding locks of its own across the call.
/// </summary>
internal interface ILinkEndpoint
{
    /// <summary>The largest IP packet the link carries (without the link header).</summary>
    int Mtu { get; }

    LinkKind Kind { get; }

    /// <summary>The link's own hardware address (Ethernet links).</summary>
    MacAddress Address { get; }

    /// <summary>What the device does for the stack on send (the loopback's own shortcuts are not counted here).</summary>
    LinkOffloads Offloads { get; }

    void Attach(ILinkDispatcher dispatcher);

    /// <summary>Sends one frame (the buffer's view: link header included for Ethernet links).</summary>
    void WritePacket(PacketBuffer packet);
}
