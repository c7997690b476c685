using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// A user-space TCP/IP stack (IPv4, ICMP, ARP, UDP, TCP) over link endpoints. Everything in it is protected by
/// one lock, <see cref="Mu"/>: a received packet, a timer and an endpoint call each run to completion under it,
/// so the protocol code needs no finer locking. Readiness listeners are called with <see cref="Mu"/> held and
/// may only wake waiters (WaitQueue._mu is below it); they never call back into the stack. Packets looped
/// back are processed before the lock is released, iteratively, so a write never re-enters the stack.
/// </summary>
internal sealed partial class NetworkStack
{
    /// <summary>Linux's default net.ipv4.ip_local_port_range.</summary>
    public const int EphemeralLow = 32768;
    public const int EphemeralHigh = 60999;

    internal readonly Lock Mu = new();

    // Protected by Mu.
    private readonly List<Nic> _nics = [];
    private Ip4Address _gateway;
    private readonly Random _random;
    private ushort _nextIpId;
    private int _nextEphemeral;
    internal readonly TimerQueue Timers = new();
    internal readonly Dictionary<TcpKey, TcpEndpoint> TcpConnections = [];
    internal readonly Dictionary<ushort, List<TcpEndpoint>> TcpPorts = [];
    internal readonly Dictionary<ushort, List<UdpEndpoint>> UdpPorts = [];
    internal readonly Dictionary<ushort, PingEndpoint> Pings = [];

    public NetworkStack(IStackClock? clock = null, int seed = 0)
    {
        Clock = clock ?? MonotonicClock.Instance;
        _random = seed == 0 ? new Random() : new Random(seed);
        _nextIpId = (ushort)_random.Next();
        _nextEphemeral = _random.Next(EphemeralLow, EphemeralHigh + 1);
        _reassembly = new FragmentReassembler(this);
    }

    public IStackClock Clock { get; }

    /// <summary>The SNMP counters /proc/net/snmp shows (StackStats.cs). Protected by Mu.</summary>
    public StackStats Stats { get; } = new();

    internal long NowNs => Clock.NowNs;

    /// <summary>CLOCK_REALTIME in nanoseconds: when a datagram arrived (SO_TIMESTAMP, SIOCGSTAMP).</summary>
    internal long RealtimeNs() => Clock.RealtimeNs;

    internal Random Random => _random;

    /// <summary>Adds an interface over <paramref name="link"/> with address <paramref name="address"/>/<paramref name="prefix"/>.</summary>
    public Nic AddNic(ILinkEndpoint link, Ip4Address address, int prefix, string? name = null)
    {
        lock (Mu)
        {
            var nic = new Nic(this, _nics.Count + 1, link, address, prefix) { Name = name };
            _nics.Add(nic);
            link.Attach(nic);
            return nic;
        }
    }

    /// <summary>The interfaces, in index order (a copy: the list may grow).</summary>
    public Nic[] Nics()
    {
        lock (Mu)
        {
            return [.. _nics];
        }
    }

    /// <summary>The default route's gateway, or the unspecified address when there is none.</summary>
    public Ip4Address DefaultGateway
    {
        get
        {
            lock (Mu)
            {
                return _gateway;
            }
        }
    }

    /// <summary>Routes destinations outside every interface's subnet through <paramref name="gateway"/>.</summary>
    public void SetDefaultGateway(Ip4Address gateway)
    {
        lock (Mu)
        {
            _gateway = gateway;
        }
    }

    /// <summary>A copy of the SNMP counters, and Tcp's CurrEstab: the connections ESTABLISHED or CLOSE-WAIT now.</summary>
    public StackStats StatsSnapshot(out long currEstab)
    {
        lock (Mu)
        {
            currEstab = 0;
            foreach (TcpEndpoint ep in TcpConnections.Values)
            {
                if (ep.IsEstablishedLocked)
                {
                    currEstab++;
                }
            }

            return Stats.Copy();
        }
    }

    /// <summary>
    /// Whether a connection to a peer outside the sandbox was closed with data or a FIN the peer has not yet
    /// acknowledged. Linux goes on sending after the process exits; the sandbox waits for these before its
    /// stack goes (<see cref="SandboxNetwork.Dispose"/>).
    /// </summary>
    public bool HasDrainingConnections()
    {
        lock (Mu)
        {
            foreach (KeyValuePair<TcpKey, TcpEndpoint> kv in TcpConnections)
            {
                IpAddress peer = kv.Key.RemoteAddress;
                bool loopback = peer.IsV4 ? (peer.V4.Value >> 24) == 127 : peer == IpAddress.V6Loopback;
                if (!loopback && kv.Value.IsDrainingLocked)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>A link hands in a received frame (from any thread; no lock held).</summary>
    internal void DeliverPacket(Nic nic, PacketBuffer packet)
    {
        lock (Mu)
        {
            HandleFrameLocked(nic, packet);
            RunLoopbackLocked();
        }
    }

    /// <summary>Runs the timers due by the clock's current time.</summary>
    public int ProcessTimers()
    {
        lock (Mu)
        {
            int n = Timers.RunExpired(NowNs);
            RunLoopbackLocked();
            return n;
        }
    }

    /// <summary>
    /// The driver's round: runs the expired timers and returns the next deadline (long.MaxValue for none), which
    /// becomes <see cref="TimerQueue.WakeAt"/>: a timer armed earlier than it from now on kicks the driver.
    /// </summary>
    internal long ProcessTimersAndPlan()
    {
        lock (Mu)
        {
            Timers.RunExpired(NowNs);
            RunLoopbackLocked();
            long next = Timers.NextDeadline;
            Timers.WakeAt = next;
            return next;
        }
    }

    /// <summary>The earliest armed timer's deadline (clock nanoseconds), or long.MaxValue.</summary>
    public long NextDeadline
    {
        get
        {
            lock (Mu)
            {
                return Timers.NextDeadline;
            }
        }
    }

    public TcpEndpoint CreateTcp(bool v6 = false) => new(this, v6);

    public UdpEndpoint CreateUdp(bool v6 = false) => new(this, v6);

    public PingEndpoint CreatePing() => new(this);

    /// <summary>Hands looped-back packets to the receive path until none is left. Preconditions: Mu held.</summary>
    internal void RunLoopbackLocked()
    {
        foreach (Nic nic in _nics)
        {
            if (nic.Link is LoopbackLink lo)
            {
                while (lo.TryTake(out PacketBuffer? p))
                {
                    HandleFrameLocked(nic, p!);
                }
            }
        }
    }

    /// <summary>Whether <paramref name="a"/> is one of this stack's addresses (::1 is the only IPv6 one).</summary>
    internal bool IsLocalAddressLocked(IpAddress a) =>
        a.IsV4 ? IsLocalAddressLocked(a.V4) : a == IpAddress.V6Loopback && HasLoopbackLocked();

    internal bool IsLocalAddressLocked(Ip4Address a)
    {
        if ((a.Value >> 24) == 127)
        {
            return HasLoopbackLocked();
        }
        foreach (Nic nic in _nics)
        {
            if (nic.Address == a)
            {
                return true;
            }
        }
        return false;
    }

    private bool HasLoopbackLocked()
    {
        foreach (Nic nic in _nics)
        {
            if (nic.IsLoopback)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Chooses the interface, next hop and source address for <paramref name="dst"/>: a local address goes over
    /// the loopback, an on-link one directly, anything else through the default gateway.
    /// </summary>
    internal Errno RouteLocked(IpAddress dst, out Route route)
    {
        if (dst.IsV4)
        {
            return RouteLocked(dst.V4, out route);
        }
        route = default;
        if (IsLocalAddressLocked(dst))
        {
            foreach (Nic nic in _nics)
            {
                if (nic.IsLoopback)
                {
                    route = new Route(nic, default, dst);
                    return Errno.None;
                }
            }
        }
        return Errno.ENETUNREACH;
    }

    internal Errno RouteLocked(Ip4Address dst, out Route route)
    {
        route = default;
        if (IsLocalAddressLocked(dst))
        {
            foreach (Nic nic in _nics)
            {
                if (nic.IsLoopback)
                {
                    route = new Route(nic, dst, dst); // to ourselves: the destination is also the source
                    return Errno.None;
                }
            }
            Stats.IpOutNoRoutes++;
            return Errno.ENETUNREACH;
        }
        foreach (Nic nic in _nics)
        {
            if (!nic.IsLoopback && (dst.InSubnet(nic.Address, nic.Prefix) || dst == Ip4Address.Broadcast))
            {
                route = new Route(nic, dst, nic.Address);
                return Errno.None;
            }
        }
        if (!_gateway.IsUnspecified)
        {
            foreach (Nic nic in _nics)
            {
                if (!nic.IsLoopback && _gateway.InSubnet(nic.Address, nic.Prefix))
                {
                    route = new Route(nic, _gateway, nic.Address);
                    return Errno.None;
                }
            }
        }
        Stats.IpOutNoRoutes++;
        return Errno.ENETUNREACH;
    }

    internal ushort NextIpIdLocked() => _nextIpId++;

    internal uint NewIssLocked() => (uint)_random.Next() ^ ((uint)_random.Next() << 16);

    /// <summary>A free ephemeral port for <paramref name="inUse"/>'s protocol, or 0 when all are taken.</summary>
    internal ushort AllocateEphemeralLocked(Func<ushort, bool> inUse)
    {
        const int range = EphemeralHigh - EphemeralLow + 1;
        for (int i = 0; i < range; i++)
        {
            int port = EphemeralLow + ((_nextEphemeral - EphemeralLow + i) % range);
            if (!inUse((ushort)port))
            {
                _nextEphemeral = port + 1 > EphemeralHigh ? EphemeralLow : port + 1;
                return (ushort)port;
            }
        }
        return 0;
    }
}

/// <summary>Where a packet to one destination leaves: the interface, the next hop and the source address.</summary>
/// <remarks>IPv6 goes over the loopback only (no NDP): its routes have no next hop.</remarks>
internal readonly record struct Route(Nic Nic, Ip4Address NextHop, IpAddress Source);
