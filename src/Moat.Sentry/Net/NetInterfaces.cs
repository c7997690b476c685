using System;
using System.Collections.Generic;
using Moat.Sentry.Net.Stack;

namespace Moat.Sentry.Net;

/// <summary>
/// One interface of the sandbox's network as the NETLINK_ROUTE dumps, the SIOCGIF* ioctls and /proc/net report
/// it. The Ethernet interface carries no IPv6 (the stack serves IPv6 on the loopback only): it reads as a Linux
/// interface with net.ipv6.conf.eth0.disable_ipv6 set.
/// </summary>
internal sealed record NetInterface(
    int Index,
    string Name,
    bool Loopback,
    int Mtu,
    MacAddress Mac,
    Ip4Address Address,
    int Prefix,
    long RxPackets,
    long RxBytes,
    long TxPackets,
    long TxBytes)
{
    public const int IFF_UP = 0x1;
    public const int IFF_BROADCAST = 0x2;
    public const int IFF_LOOPBACK = 0x8;
    public const int IFF_RUNNING = 0x40;
    public const int IFF_MULTICAST = 0x1000;
    public const int IFF_LOWER_UP = 0x10000;
    public const ushort ArphrdEther = 1;

    /// <summary>dev_get_flags: lo is UP, LOOPBACK, RUNNING; the TAP interface UP, BROADCAST, RUNNING, MULTICAST; both LOWER_UP.</summary>
    public int Flags => (Loopback ? IFF_UP | IFF_LOOPBACK | IFF_RUNNING : IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST) | IFF_LOWER_UP;

    public ushort HardwareType => Loopback ? LoopbackInterface.ArphrdLoopback : ArphrdEther;

    /// <summary>The link-layer broadcast address: zeros on lo, ff:ff:ff:ff:ff:ff on Ethernet.</summary>
    public MacAddress BroadcastMac => Loopback ? MacAddress.Zero : MacAddress.Broadcast;

    /// <summary>The IPv4 broadcast address of the subnet (ip's "brd +"); lo has none.</summary>
    public Ip4Address Broadcast => Prefix >= 31 ? Ip4Address.Any : new(Address.Value | (uint.MaxValue >> Prefix));

    public Ip4Address Netmask => new(Prefix == 0 ? 0 : uint.MaxValue << (32 - Prefix));

    /// <summary>The subnet's first address.</summary>
    public Ip4Address Network => new(Address.Value & Netmask.Value);

    public bool HasIpv6Loopback => Loopback;

    public const int TxQueueLength = 1000;
}

/// <summary>The sandbox's interfaces and default route, from the netstack when it serves the sandbox, else lo alone.</summary>
internal sealed record NetInterfaces(IReadOnlyList<NetInterface> Interfaces, Ip4Address Gateway, int GatewayIndex)
{
    /// <summary>What the sandbox's network has now.</summary>
    public static NetInterfaces Of(Kernel.Kernel k)
    {
        if (k.Netstack is SandboxNetwork net)
        {
            return FromStack(net.Stack);
        }

        // --network=host's ioctls: lo alone, without the host's counters.
        var lo = new NetInterface(LoopbackInterface.Index, LoopbackInterface.Name, true, LoopbackInterface.Mtu, MacAddress.Zero, Ip4Address.Loopback, 8, 0, 0, 0, 0);
        return new NetInterfaces([lo], Ip4Address.Any, 0);
    }

    /// <summary>The interfaces of <paramref name="stack"/>: its loopback is lo, its Ethernet interfaces eth0, eth1, ...</summary>
    public static NetInterfaces FromStack(NetworkStack stack)
    {
        var list = new List<NetInterface>();
        int ethernet = 0;
        Ip4Address gateway = stack.DefaultGateway;
        int gatewayIndex = 0;
        foreach (Nic nic in stack.Nics())
        {
            string name = nic.IsLoopback ? LoopbackInterface.Name : nic.Name ?? "eth" + ethernet++;
            int mtu = nic.IsLoopback ? LoopbackInterface.Mtu : nic.Mtu;
            list.Add(new NetInterface(nic.Id, name, nic.IsLoopback, mtu, nic.IsLoopback ? MacAddress.Zero : nic.Link.Address, nic.Address, nic.Prefix,
                nic.RxPackets, nic.RxBytes, nic.TxPackets, nic.TxBytes));
            if (gatewayIndex == 0 && !gateway.IsUnspecified && !nic.IsLoopback && gateway.InSubnet(nic.Address, nic.Prefix))
            {
                gatewayIndex = nic.Id;
            }
        }

        return new NetInterfaces(list, gatewayIndex != 0 ? gateway : Ip4Address.Any, gatewayIndex);
    }

    public NetInterface? ByIndex(int index)
    {
        foreach (NetInterface i in Interfaces)
        {
            if (i.Index == index)
            {
                return i;
            }
        }

        return null;
    }

    public NetInterface? ByName(ReadOnlySpan<byte> name)
    {
        foreach (NetInterface i in Interfaces)
        {
            if (name.SequenceEqual(System.Text.Encoding.ASCII.GetBytes(i.Name)))
            {
                return i;
            }
        }

        return null;
    }
}
