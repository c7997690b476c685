using System;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// The core of a raw IPv4 socket (AF_INET, SOCK_RAW), as Linux's net/ipv4/raw.c: it receives a copy of every
/// datagram of its protocol delivered to this host (IP header included, after reassembly), beside the normal
/// demultiplexing, filtered by its bound and connected addresses and, for ICMP, by ICMP_FILTER. It sends
/// datagrams whose header the stack builds, or (IP_HDRINCL, implied by IPPROTO_RAW) whose header the caller
/// wrote and the stack completes (length, checksum, and id and source when zero).
/// </summary>
internal sealed class RawEndpoint
{
    /// <summary>net.core.rmem_default: what SO_RCVBUF reports before it is set.</summary>
    public const int DefaultReceiveBuffer = 212992;

    private readonly NetworkStack _stack;

    // Protected by the stack's lock.
    private readonly Queue<PacketBuffer> _queue = new();
    private int _queuedBytes;
    private Ip4Address _local;
    private Ip4Address _remote;
    private bool _closed;
    private IReadinessListener? _listener;

    public RawEndpoint(NetworkStack stack, byte protocol)
    {
        _stack = stack;
        Protocol = protocol;
        HeaderIncluded = protocol == Ipv4Header.ProtocolRaw;
        lock (stack.Mu)
        {
            stack.RawEndpoints.Add(this);
        }
    }

    /// <summary>The IP protocol number the socket was opened with (255: IPPROTO_RAW, send only in practice).</summary>
    public byte Protocol { get; }

    /// <summary>IP_HDRINCL: the caller writes the IP header.</summary>
    public bool HeaderIncluded { get; set; }

    /// <summary>ICMP_FILTER: bit n set drops ICMP messages of type n (n &lt; 32).</summary>
    public uint IcmpFilter { get; set; }

    /// <summary>SO_RCVBUF: the most bytes of datagrams held; more are dropped (counted in <see cref="Drops"/>).</summary>
    public int ReceiveBufferSize { get; set; } = DefaultReceiveBuffer;

    /// <summary>Datagrams dropped because the receive buffer was full. Protected by the stack's lock.</summary>
    public long Drops { get; private set; }

    public Ip4Address LocalAddress
    {
        get
        {
            lock (_stack.Mu)
            {
                return _local;
            }
        }
    }

    public Ip4Address RemoteAddress
    {
        get
        {
            lock (_stack.Mu)
            {
                return _remote;
            }
        }
    }

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

    /// <summary>Poll bits: always writable, readable while a datagram is queued.</summary>
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

    /// <summary>The size of the next datagram (FIONREAD), 0 when none.</summary>
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

    private int EventsLocked() => Readiness.Writable | (_queue.Count > 0 ? Readiness.Readable : 0);

    /// <summary>bind(2): receive only datagrams to <paramref name="address"/> (and send from it). EADDRNOTAVAIL unless local.</summary>
    public Errno Bind(Ip4Address address)
    {
        lock (_stack.Mu)
        {
            if (!address.IsUnspecified && !_stack.IsLocalAddressLocked(address) && !address.IsMulticastOrBroadcast)
            {
                return Errno.EADDRNOTAVAIL;
            }

            _local = address;
            return Errno.None;
        }
    }

    /// <summary>connect(2): receive only datagrams from <paramref name="address"/>; unspecified dissolves it.</summary>
    public void Connect(Ip4Address address)
    {
        lock (_stack.Mu)
        {
            _remote = address;
        }
    }

    /// <summary>
    /// Sends <paramref name="data"/> to <paramref name="dst"/>: a whole datagram when <see cref="HeaderIncluded"/>,
    /// else the payload under a header the stack builds with <paramref name="tos"/> and <paramref name="ttl"/>.
    /// </summary>
    public Errno Send(Ip4Address dst, ReadOnlySpan<byte> data, byte tos, byte ttl)
    {
        lock (_stack.Mu)
        {
            Errno err = _stack.RouteLocked(dst, out Route r);
            if (err != Errno.None)
            {
                return err;
            }

            Ip4Address src = _local.IsUnspecified || _local.IsMulticastOrBroadcast ? r.Source.V4 : _local;
            err = HeaderIncluded
                ? _stack.SendRawDatagramLocked(r, src, data)
                : SendPayloadLocked(r, src, dst, data, tos, ttl);
            _stack.RunLoopbackLocked();
            return err;
        }
    }

    private Errno SendPayloadLocked(in Route r, Ip4Address src, Ip4Address dst, ReadOnlySpan<byte> data, byte tos, byte ttl)
    {
        if (data.Length + Ipv4Header.MinLength > ushort.MaxValue)
        {
            return Errno.EMSGSIZE;
        }

        PacketBuffer p = PacketBuffer.Rent(data.Length);
        data.CopyTo(p.Append(data.Length));
        // IP_PMTUDISC_WANT: DF on what fits the link, local fragments otherwise.
        return _stack.SendIpLocked(r, src, dst, Protocol, p, dontFragment: data.Length + Ipv4Header.MinLength <= r.Nic.Mtu, tos, ttl);
    }

    /// <summary>
    /// Takes (or with <paramref name="peek"/> copies) the next datagram, IP header included;
    /// <paramref name="length"/> is its full length. EAGAIN if none.
    /// </summary>
    public Errno Receive(Span<byte> buffer, out int length, out Ip4Address from, bool peek)
    {
        lock (_stack.Mu)
        {
            length = 0;
            from = default;
            if (!_queue.TryPeek(out PacketBuffer? p))
            {
                return Errno.EAGAIN;
            }

            ReadOnlySpan<byte> d = p.Span;
            length = d.Length;
            from = p.Source.V4;
            d[..Math.Min(d.Length, buffer.Length)].CopyTo(buffer);
            if (!peek)
            {
                _queue.Dequeue();
                _queuedBytes -= p.Length;
                p.Release();
                _listener?.OnReadinessChanged(EventsLocked());
            }

            return Errno.None;
        }
    }

    public void Close()
    {
        lock (_stack.Mu)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _listener = null;
            _stack.RawEndpoints.Remove(this);
            while (_queue.TryDequeue(out PacketBuffer? p))
            {
                p.Release();
            }

            _queuedBytes = 0;
        }
    }

    /// <summary>Whether a received datagram with header <paramref name="h"/> and <paramref name="datagram"/> is for this socket (raw_v4_match and icmp_filter).</summary>
    internal bool MatchesLocked(in Ipv4Header h, ReadOnlySpan<byte> datagram)
    {
        if (h.Protocol != Protocol || (!_local.IsUnspecified && _local != h.Destination) || (!_remote.IsUnspecified && _remote != h.Source))
        {
            return false;
        }

        if (Protocol == Ipv4Header.ProtocolIcmp && datagram.Length > h.HeaderLength)
        {
            int type = datagram[h.HeaderLength];
            return type >= 32 || (IcmpFilter & (1u << type)) == 0;
        }

        return true;
    }

    /// <summary>Queues a copy of <paramref name="datagram"/> (from <paramref name="source"/>) unless the buffer is full.</summary>
    internal void DeliverLocked(ReadOnlySpan<byte> datagram, Ip4Address source)
    {
        if (_queuedBytes + datagram.Length > ReceiveBufferSize)
        {
            Drops++;
            return;
        }

        PacketBuffer p = PacketBuffer.CopyOf(datagram);
        p.Source = source;
        _queue.Enqueue(p);
        _queuedBytes += p.Length;
        _listener?.OnReadinessChanged(EventsLocked());
    }
}
