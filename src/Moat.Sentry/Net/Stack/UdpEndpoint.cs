using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// A UDP endpoint: bind, connect, send and receive datagrams, and the ICMP errors a connected endpoint reports
/// (ECONNREFUSED after a port-unreachable), as Linux reports them: once, on the next call.
/// </summary>
internal sealed class UdpEndpoint
{
    /// <summary>Linux's net.core.rmem_default; datagrams beyond it are dropped (UdpRcvbufErrors).</summary>
    public const int DefaultReceiveBuffer = 212992;
    public const int MaxPayload = 65535 - Ipv4Header.MinLength - NetworkStack.UdpHeaderLength;

    /// <summary>The payload limit over IPv6 (the payload-length field covers only the UDP header and data).</summary>
    public const int MaxPayload6 = 65535 - NetworkStack.UdpHeaderLength;

    private readonly NetworkStack _stack;

    // Protected by the stack's lock.
    private readonly Queue<PacketBuffer> _queue = new();
    private int _queuedBytes;
    private Errno _error;
    private bool _closed;
    private IReadinessListener? _listener;

    public UdpEndpoint(NetworkStack stack, bool v6 = false)
    {
        _stack = stack;
        IsV6 = v6;
    }

    /// <summary>An AF_INET6 endpoint: its wildcard is :: (IPv4 too, unless <see cref="V6Only"/>).</summary>
    public bool IsV6 { get; }

    /// <summary>IPV6_V6ONLY: an AF_INET6 endpoint that takes and sends no IPv4 (mapped) traffic.</summary>
    public bool V6Only { get; set; }

    /// <summary>IP_TTL / IPV6_UNICAST_HOPS for datagrams sent (-1: the default, 64).</summary>
    public int Ttl { get; set; } = -1;

    /// <summary>IP_TOS / IPV6_TCLASS for datagrams sent.</summary>
    public int Tos { get; set; }

    private IpAddress Wildcard => IsV6 ? IpAddress.V6Any : IpAddress.V4Any;

    public IpAddress LocalAddress { get; private set; }

    public ushort LocalPort { get; private set; }

    public IpAddress RemoteAddress { get; private set; }

    public ushort RemotePort { get; private set; }

    public bool Connected { get; private set; }

    public int ReceiveBufferSize { get; set; } = DefaultReceiveBuffer;

    /// <summary>SO_REUSEADDR and SO_REUSEPORT for Bind.</summary>
    public bool ReuseAddress { get; set; }

    public bool ReusePort { get; set; }

    public IReadinessListener? Listener
    {
        set
        {
            lock (_stack.Mu)
            {
                _listener = value;
            }
        }
    }

    public Errno Bind(IpAddress address, ushort port)
    {
        lock (_stack.Mu)
        {
            return BindLocked(address, port);
        }
    }

    private Errno BindLocked(IpAddress address, ushort port)
    {
        if (LocalPort != 0 || _closed)
        {
            return Errno.EINVAL;
        }
        if (!address.IsUnspecified && !_stack.IsLocalAddressLocked(address))
        {
            return Errno.EADDRNOTAVAIL;
        }
        if (port == 0)
        {
            port = _stack.AllocateEphemeralLocked(p => Conflicts(p, address));
            if (port == 0)
            {
                return Errno.EAGAIN;
            }
        }
        else if (Conflicts(port, address))
        {
            return Errno.EADDRINUSE;
        }
        if (!_stack.UdpPorts.TryGetValue(port, out List<UdpEndpoint>? list))
        {
            _stack.UdpPorts[port] = list = [];
        }
        list.Add(this);
        LocalAddress = address;
        LocalPort = port;
        return Errno.None;
    }

    private bool Conflicts(ushort port, IpAddress address)
    {
        if (!_stack.UdpPorts.TryGetValue(port, out List<UdpEndpoint>? list))
        {
            return false;
        }
        foreach (UdpEndpoint ep in list)
        {
            bool overlap = IpAddress.Overlap(ep.LocalAddress, ep.V6Only, address, V6Only);
            // SO_REUSEADDR (or SO_REUSEPORT) on both lets datagram sockets share a port, as in udp_lib_lport_inuse.
            if (overlap && !(ReuseAddress && ep.ReuseAddress) && !(ReusePort && ep.ReusePort))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Connects to a peer (binds an ephemeral port first if needed).</summary>
    public Errno Connect(IpAddress address, ushort port)
    {
        lock (_stack.Mu)
        {
            if (port == 0)
            {
                return Errno.ECONNREFUSED;
            }
            Errno err = _stack.RouteLocked(address, out Route r);
            if (err != Errno.None)
            {
                return err;
            }
            if (LocalPort == 0)
            {
                err = BindLocked(Wildcard, 0);
                if (err != Errno.None)
                {
                    return err;
                }
            }
            if (LocalAddress.IsUnspecified)
            {
                LocalAddress = r.Source;
            }
            RemoteAddress = address;
            RemotePort = port;
            Connected = true;
            return Errno.None;
        }
    }

    /// <summary>Takes and clears the pending error (SO_ERROR).</summary>
    public Errno TakeError()
    {
        lock (_stack.Mu)
        {
            Errno e = _error;
            _error = Errno.None;
            NotifyLocked();
            return e;
        }
    }

    /// <summary>connect(AF_UNSPEC): forgets the peer; the bound port stays.</summary>
    public void Disconnect()
    {
        lock (_stack.Mu)
        {
            Connected = false;
            RemoteAddress = default;
            RemotePort = 0;
        }
    }

    /// <summary>Bytes of all queued datagrams.</summary>
    public int QueuedBytes
    {
        get
        {
            lock (_stack.Mu)
            {
                return _queuedBytes;
            }
        }
    }

    /// <summary>Bytes of the next queued datagram (FIONREAD), 0 when none.</summary>
    public int NextLength
    {
        get
        {
            lock (_stack.Mu)
            {
                return _queue.TryPeek(out PacketBuffer? p) ? p.Length : 0;
            }
        }
    }

    /// <summary>Sends one datagram to the connected peer (<paramref name="port"/> 0) or to the given address.</summary>
    public Errno SendTo(ReadOnlySpan<byte> data, IpAddress address = default, ushort port = 0, int ttl = -1, int tos = -1)
    {
        lock (_stack.Mu)
        {
            if (_error != Errno.None)
            {
                Errno e = _error;
                _error = Errno.None;
                return e;
            }
            if (port == 0)
            {
                if (!Connected)
                {
                    return Errno.EDESTADDRREQ;
                }
                address = RemoteAddress;
                port = RemotePort;
            }
            if (data.Length > (address.IsV4 ? MaxPayload : MaxPayload6))
            {
                return Errno.EMSGSIZE;
            }
            Errno err = _stack.RouteLocked(address, out Route r);
            if (err != Errno.None)
            {
                return err;
            }
            if (LocalPort == 0)
            {
                err = BindLocked(Wildcard, 0);
                if (err != Errno.None)
                {
                    return err;
                }
            }
            IpAddress src = LocalAddress.IsUnspecified ? r.Source : LocalAddress;
            int length = NetworkStack.UdpHeaderLength + data.Length;
            PacketBuffer p = PacketBuffer.Rent(length);
            Span<byte> u = p.Append(length);
            BinaryPrimitives.WriteUInt16BigEndian(u, LocalPort);
            BinaryPrimitives.WriteUInt16BigEndian(u[2..], port);
            BinaryPrimitives.WriteUInt16BigEndian(u[4..], (ushort)length);
            u[6] = 0;
            u[7] = 0;
            data.CopyTo(u[NetworkStack.UdpHeaderLength..]);
            if (r.Nic.IsLoopback)
            {
                // As Linux's lo (udp4_hwcsum on CHECKSUM_PARTIAL; every datagram fits its MTU): the pseudo-header's
                // folded sum, never completed, nor verified on arrival.
                BinaryPrimitives.WriteUInt16BigEndian(u[6..], (ushort)~Checksum.Finish(Checksum.PseudoHeader(src, address, Ipv4Header.ProtocolUdp, length)));
                p.ChecksumPartial = true;
            }
            else
            {
                ushort sum = Checksum.Finish(Checksum.Add(Checksum.PseudoHeader(src, address, Ipv4Header.ProtocolUdp, length), u));
                BinaryPrimitives.WriteUInt16BigEndian(u[6..], sum == 0 ? (ushort)0xFFFF : sum);
            }
            _stack.Stats.UdpOutDatagrams++;
            // Linux's IP_PMTUDISC_WANT: DF on datagrams that fit, local fragmentation of those that do not.
            ttl = ttl >= 0 ? ttl : Ttl >= 0 ? Ttl : Ipv4Header.DefaultTtl;
            tos = tos >= 0 ? tos : Tos;
            err = _stack.SendIpLocked(r, src, address, Ipv4Header.ProtocolUdp, p, dontFragment: length + Ipv4Header.MinLength <= r.Nic.Mtu,
                (byte)tos, (byte)ttl);
            _stack.RunLoopbackLocked();
            return err;
        }
    }

    /// <summary>
    /// Receives one datagram into <paramref name="buffer"/> (the rest of a longer one is discarded, as without
    /// MSG_TRUNC's length report); returns its full length. EAGAIN when none is queued.
    /// </summary>
    public Errno Receive(Span<byte> buffer, out int length, out IpAddress from, out ushort fromPort, bool peek = false) =>
        Receive(buffer, out length, out from, out fromPort, out _, peek);

    /// <summary>Receive, with the TTL, TOS and arrival time the datagram came with.</summary>
    public Errno Receive(Span<byte> buffer, out int length, out IpAddress from, out ushort fromPort, out DatagramInfo info, bool peek)
    {
        lock (_stack.Mu)
        {
            length = 0;
            from = default;
            fromPort = 0;
            info = default;
            // A pending error comes before queued datagrams, as in Linux's __skb_try_recv_datagram.
            if (_error != Errno.None)
            {
                Errno e = _error;
                _error = Errno.None;
                NotifyLocked();
                return e;
            }
            if (!_queue.TryPeek(out PacketBuffer? p))
            {
                return Errno.EAGAIN;
            }
            length = p.Length;
            from = p.Source;
            fromPort = p.SourcePort;
            info = new DatagramInfo(p.Ttl, p.Tos, p.ArrivalNs);
            p.Span[..Math.Min(p.Length, buffer.Length)].CopyTo(buffer);
            if (!peek)
            {
                _queue.Dequeue();
                _queuedBytes -= p.Length;
                p.Release();
                NotifyLocked();
            }
            return Errno.None;
        }
    }

    public int Events
    {
        get
        {
            lock (_stack.Mu)
            {
                return EventsLocked();
            }
        }
    }

    private int EventsLocked()
    {
        int ev = Readiness.Writable;
        if (_queue.Count > 0)
        {
            ev |= Readiness.Readable;
        }
        if (_error != Errno.None)
        {
            ev |= Readiness.Error;
        }
        return ev;
    }

    public void Close()
    {
        lock (_stack.Mu)
        {
            _closed = true;
            if (LocalPort != 0 && _stack.UdpPorts.TryGetValue(LocalPort, out List<UdpEndpoint>? list))
            {
                list.Remove(this);
                if (list.Count == 0)
                {
                    _stack.UdpPorts.Remove(LocalPort);
                }
            }
            while (_queue.TryDequeue(out PacketBuffer? p))
            {
                p.Release();
            }
            _queuedBytes = 0;
        }
    }

    internal void DeliverLocked(PacketBuffer p)
    {
        if (_queuedBytes + p.Length > ReceiveBufferSize)
        {
            _stack.Stats.UdpRcvbufErrors++;
            _stack.Stats.UdpInErrors++;
            p.Release();
            return;
        }
        _stack.Stats.UdpInDatagrams++;
        p.ArrivalNs = _stack.RealtimeNs();
        _queue.Enqueue(p);
        _queuedBytes += p.Length;
        NotifyLocked();
    }

    internal void SetErrorLocked(Errno err)
    {
        _error = err;
        NotifyLocked();
    }

    private void NotifyLocked() => _listener?.OnReadinessChanged(EventsLocked());
}

/// <summary>What a datagram arrived with: its TTL (hop limit), TOS (traffic class) and CLOCK_REALTIME arrival time.</summary>
internal readonly record struct DatagramInfo(byte Ttl, byte Tos, long ArrivalNs);
