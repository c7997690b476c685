using System;
using System.Collections.Generic;
using System.Globalization;
using Moat.Abi;
using Moat.Cli.Diagnostics;
using Moat.Host;
using Moat.Sentry;

namespace Moat.Cli.Network;

/// <summary>
/// <c>--network=sandbox</c> for an OCI container in a pod's network namespace (CNI made it), as runsc does it: in
/// that namespace and before the jail, oci-boot finds the interface CNI configured (up, not lo, with an IPv4
/// address: usually eth0 of a veth pair), reads its name, MAC, MTU, address and default route, opens an AF_PACKET
/// socket bound to it, and removes its IPv4 addresses from the host's side, so that the host kernel no longer
/// answers for them (its TCP would reset every connection of the sandbox's stack). The Sentry's stack then serves
/// the interface through the socket. When the container ends, the addresses and the routes through the interface
/// are put back, so the namespace is as CNI left it.
/// </summary>
internal sealed class PodInterfaceTakeover : IDisposable
{
    private const byte RTPROT_KERNEL = 2;

    private readonly DebugLog _log;
    private readonly HostInterface _interface;
    private readonly List<HostIpv4Route> _routes;
    private bool _restored;

    private PodInterfaceTakeover(DebugLog log, HostInterface iface, List<HostIpv4Route> routes, SandboxLink link)
    {
        _log = log;
        _interface = iface;
        _routes = routes;
        Link = link;
    }

    /// <summary>The socket and the interface's facts, for the Sentry.</summary>
    public SandboxLink Link { get; }

    /// <summary>Takes the namespace's interface over; null with a one-line reason (no IPv4 interface, no CAP_NET_RAW, ...).</summary>
    public static PodInterfaceTakeover? Create(DebugLog log, out string? error)
    {
        List<HostInterface>? all = HostLinks.Interfaces(out long r);
        List<HostIpv4Route>? routes = all != null ? HostLinks.Routes(out r) : null;
        if (all == null || routes == null)
        {
            error = "--network=sandbox: cannot list the network namespace's interfaces (netlink): " + LinuxError.Text(Errno.FromValue((int)-r));
            return null;
        }

        var candidates = all.FindAll(i => !i.IsLoopback && i.IsUp && i.Addresses.Count > 0 && i.Mac.Length == 6);
        if (candidates.Count == 0)
        {
            error = "--network=sandbox: the network namespace has no interface but lo that is up with an IPv4 address (an Ethernet one) to take over; moat --network=host runs the container with that namespace's host sockets";
            return null;
        }

        // The interface of the default route, or the first: the stack serves one Ethernet interface.
        HostIpv4Route? defaultRoute = null;
        foreach (HostIpv4Route route in routes)
        {
            if (route.Prefix == 0 && route.Gateway != 0 && candidates.Exists(c => c.Index == route.Index))
            {
                defaultRoute = route;
                break;
            }
        }

        HostInterface iface = defaultRoute is HostIpv4Route d ? candidates.Find(c => c.Index == d.Index)! : candidates[0];
        HostIpv4Address address = iface.Addresses[0];
        uint gateway = defaultRoute?.Gateway ?? 0;
        uint mask = address.Prefix == 0 ? 0 : uint.MaxValue << (32 - address.Prefix);
        if (gateway != 0 && (gateway & mask) != (address.Address & mask))
        {
            error = $"--network=sandbox: {iface.Name}'s default gateway {Dotted(gateway)} is outside its subnet {Dotted(address.Address)}/{address.Prefix}: the Sentry's stack routes only through an on-link gateway; moat --network=host runs the container with the namespace's host sockets";
            return null;
        }

        foreach (HostInterface other in candidates)
        {
            if (other != iface)
            {
                log.WriteLine($"moat: --network=sandbox: {other.Name} is not served (the sandbox's stack takes one interface: {iface.Name})");
            }
        }

        for (int i = 1; i < iface.Addresses.Count; i++)
        {
            log.WriteLine($"moat: --network=sandbox: {iface.Name}'s further address {Dotted(iface.Addresses[i].Address)}/{iface.Addresses[i].Prefix} is not served");
        }

        SafeFdHandle? socket = HostPacketSocket.Open(iface.Index, out r);
        if (socket == null)
        {
            error = $"--network=sandbox: cannot open a packet socket on {iface.Name}: {LinuxError.Text(Errno.FromValue((int)-r))}" +
                (r == -Errno.EPERM.Value ? " (it needs CAP_NET_RAW in the namespace; moat --network=host runs without)" : string.Empty);
            return null;
        }

        // What deleting the addresses takes away with them, to put back at the end: the routes through the
        // interface that the kernel did not make from an address.
        List<HostIpv4Route> through = routes.FindAll(x => x.Index == iface.Index && x.Protocol != RTPROT_KERNEL);
        var takeover = new PodInterfaceTakeover(log, iface, through, MakeLink(socket, iface, address, gateway));
        foreach (HostIpv4Address a in iface.Addresses)
        {
            r = HostLinks.DeleteAddress(iface.Index, a);
            if (r < 0)
            {
                takeover.Dispose();
                error = $"--network=sandbox: cannot remove {Dotted(a.Address)}/{a.Prefix} from {iface.Name}: {LinuxError.Text(Errno.FromValue((int)-r))}";
                return null;
            }
        }

        SandboxLink l = takeover.Link;
        log.WriteLine($"moat: network: sandbox: the Sentry's stack takes {l.Name} (index {iface.Index}, {l.Address}/{l.Prefix}, gateway {l.Gateway}, mtu {l.Mtu}) over from the namespace");
        error = null;
        return takeover;
    }

    /// <summary>The value of oci-boot's hidden --net-link for the jailed Sentry: NAME,ADDR,PREFIX,GW,MAC,MTU.</summary>
    public static string Describe(SandboxLink l) => string.Join(',', l.Name, l.Address, l.Prefix.ToString(CultureInfo.InvariantCulture), l.Gateway,
        l.Mac.ToString(CultureInfo.InvariantCulture), l.Mtu.ToString(CultureInfo.InvariantCulture));

    /// <summary>Inside the jail: the link <see cref="Describe"/> wrote, over the packet socket at <paramref name="fd"/>; null if malformed.</summary>
    public static SandboxLink? Parse(string spec, int fd)
    {
        string[] f = spec.Split(',');
        if (f.Length != 6 || !int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int prefix) ||
            !ulong.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out ulong mac) ||
            !int.TryParse(f[5], NumberStyles.None, CultureInfo.InvariantCulture, out int mtu))
        {
            return null;
        }

        return new SandboxLink(new SafeFdHandle(fd), f[0], f[1], prefix, f[3], mac) { PacketSocket = true, Mtu = mtu };
    }

    /// <summary>Puts the interface's addresses and routes back (the container ended); the socket stays the Sentry's.</summary>
    public void Dispose()
    {
        if (_restored)
        {
            return;
        }

        _restored = true;
        foreach (HostIpv4Address a in _interface.Addresses)
        {
            long r = HostLinks.AddAddress(_interface.Index, a);
            if (r < 0 && r != -Errno.EEXIST.Value)
            {
                _log.WriteLine($"moat: --network=sandbox: cannot give {Dotted(a.Address)}/{a.Prefix} back to {_interface.Name}: {LinuxError.Text(Errno.FromValue((int)-r))}");
            }
        }

        foreach (HostIpv4Route route in _routes)
        {
            long r = HostLinks.AddRoute(route);
            if (r < 0 && r != -Errno.EEXIST.Value)
            {
                _log.WriteLine($"moat: --network=sandbox: cannot put the route to {Dotted(route.Destination)}/{route.Prefix} back on {_interface.Name}: {LinuxError.Text(Errno.FromValue((int)-r))}");
            }
        }

        Link.Tap.Dispose();
    }

    private static SandboxLink MakeLink(SafeFdHandle socket, HostInterface iface, HostIpv4Address address, uint gateway)
    {
        ulong mac = 0;
        foreach (byte b in iface.Mac)
        {
            mac = (mac << 8) | b;
        }

        return new SandboxLink(socket, iface.Name, Dotted(address.Address), address.Prefix, Dotted(gateway), mac)
        {
            PacketSocket = true,
            Mtu = iface.Mtu > 0 ? iface.Mtu : 1500,
        };
    }

    private static string Dotted(uint a) =>
        string.Create(CultureInfo.InvariantCulture, $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}");
}
