namespace Moat.Sentry.Net.Stack;

internal sealed partial class NetworkStack
{
    private ArpCache? _arpCache;

    /// <summary>The neighbour cache of the Ethernet interfaces. Protected by Mu.</summary>
    internal ArpCache Arp => _arpCache ??= new ArpCache(this);

    private void HandleArpLocked(Nic nic, PacketBuffer p) => Arp.HandleLocked(nic, p);
}
