using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Sentry.Net.Stack;

namespace Moat.Sentry.Net;

/// <summary>
/// The Sentry's own TCP/IP stack for a sandbox (docs/netstack.md): a NetworkStack with a loopback interface
/// (127.0.0.1/8 and ::1) and, for <c>--network=sandbox</c>, an Ethernet interface whose frames the TAP device
/// moat opened carries. Its timers run on a StackDriver thread. AF_INET and AF_INET6
/// sockets are StackTcpSocket and StackUdpSocket over its endpoints; they register here so that /proc/net
/// lists them.
/// </summary>
internal sealed class SandboxNetwork : IDisposable
{
    private readonly StackDriver _driver;
    private readonly IDisposable? _link;

    // The live TCP and UDP sockets on this stack, for /proc/net/{tcp,udp}{,6}. _socketsMu is a leaf.
    private readonly Lock _socketsMu = new();
    private readonly HashSet<InetSocket> _sockets = [];

    private SandboxNetwork(NetworkStack stack, IDisposable? link)
    {
        Stack = stack;
        _link = link;
        _driver = new StackDriver(stack);
    }

    public NetworkStack Stack { get; }

    /// <summary>
    /// --net-raw: raw IP and AF_PACKET sockets may be opened (by a task with CAP_NET_RAW). Without it they answer
    /// EPERM, as runsc without --net-raw does. Set before the sandbox starts.
    /// </summary>
    public bool RawSockets { get; set; }

    /// <summary>The Ethernet interface's configuration, when there is one.</summary>
    public EthernetConfig? Ethernet { get; private init; }

    /// <summary>A stack with only a loopback interface (--network=none served by the stack).</summary>
    public static SandboxNetwork LoopbackOnly()
    {
        var stack = new NetworkStack();
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        return new SandboxNetwork(stack, null);
    }

    /// <summary>
    /// A stack with a loopback interface and an Ethernet interface over <paramref name="link"/> (--network=sandbox),
    /// named <paramref name="name"/> in the sandbox (null: eth0).
    /// </summary>
    public static SandboxNetwork WithEthernet(ILinkEndpoint link, IDisposable owner, EthernetConfig config, string? name = null)
    {
        var stack = new NetworkStack();
        stack.AddNic(new LoopbackLink(), Ip4Address.Loopback, 8);
        stack.AddNic(link, config.Address, config.Prefix, name);
        if (!config.Gateway.IsUnspecified)
        {
            stack.SetDefaultGateway(config.Gateway);
        }

        return new SandboxNetwork(stack, owner) { Ethernet = config };
    }

    /// <summary>The stack of --network=sandbox: loopback, and an Ethernet interface on the TAP device or the pod's interface.</summary>
    public static SandboxNetwork Over(SandboxLink link) => link.PacketSocket ? OverPacketSocket(link) : OverTap(link);

    /// <summary>
    /// The stack of an OCI container whose pod interface oci-boot took over: the interface keeps its name, MAC, MTU,
    /// address and default route, and its frames go through the AF_PACKET socket bound to it.
    /// </summary>
    public static SandboxNetwork OverPacketSocket(SandboxLink link)
    {
        var packet = new PacketLink(link.Tap, link.Name, new MacAddress(link.Mac), link.Mtu);
        var config = new EthernetConfig(Ip4Address.Parse(link.Address), link.Prefix, Ip4Address.Parse(link.Gateway));
        return WithEthernet(packet, packet, config, link.Name);
    }

    /// <summary>The stack of moat do --network=sandbox: loopback, and an Ethernet interface on the TAP device moat opened.</summary>
    public static SandboxNetwork OverTap(SandboxLink link)
    {
        TapLink tap = TapLink.FromFd(link.Tap, link.Name, new MacAddress(link.Mac));
        var config = new EthernetConfig(Ip4Address.Parse(link.Address), link.Prefix, Ip4Address.Parse(link.Gateway));
        return WithEthernet(tap, tap, config);
    }

    /// <summary>A socket over this stack came to life (it unregisters when released).</summary>
    public void Register(InetSocket s)
    {
        lock (_socketsMu)
        {
            _sockets.Add(s);
        }
    }

    public void Unregister(InetSocket s)
    {
        lock (_socketsMu)
        {
            _sockets.Remove(s);
        }
    }

    /// <summary>The live TCP (or UDP) sockets, in no particular order.</summary>
    public List<InetSocket> Snapshot(bool tcp)
    {
        var list = new List<InetSocket>();
        lock (_socketsMu)
        {
            foreach (InetSocket s in _sockets)
            {
                if (s.IsStream == tcp)
                {
                    list.Add(s);
                }
            }
        }

        return list;
    }

    /// <summary>How long the end of a sandbox waits for closed connections to deliver what they still hold.</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(5);

    public void Dispose()
    {
        // The application's last writes may still be in flight when it exits (sendall, then close, then exit):
        // let the timers and the link deliver them, as Linux's sockets outlive their process, for a while.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (Ethernet != null && waited.Elapsed < DrainLimit && Stack.HasDrainingConnections())
        {
            System.Threading.Thread.Sleep(5);
        }

        _driver.Dispose();
        _link?.Dispose();
    }
}

/// <summary>The sandbox's Ethernet interface: its address, prefix length and default gateway.</summary>
internal readonly record struct EthernetConfig(Ip4Address Address, int Prefix, Ip4Address Gateway);
