using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>Where a frame a packet socket read came from: sockaddr_ll's fields (protocol in host order).</summary>
internal readonly record struct PacketSource(int IfIndex, ushort Protocol, ushort HaType, byte PktType, MacAddress Address);

/// <summary>
/// The core of an AF_PACKET socket (SOCK_RAW: frames with their link header; SOCK_DGRAM: "cooked", the
/// payload only), as Linux's net/packet/af_packet.c without its rings: it sees the frames of its protocol
/// (ETH_P_ALL: every frame, in both directions; another EtherType: received frames of that type only, as
/// Linux's ptype_base handlers) on its bound interface or on all. The loopback shows its packets as Linux's
/// lo does: behind a 14-byte Ethernet header of zero addresses, once going out and once coming in.
/// </summary>
internal sealed class PacketEndpoint
{
    public const ushort EthPAll = 0x0003;
    public const ushort EthPIp = 0x0800;
    public const ushort EthPIpv6 = 0x86DD;
    public const ushort ArphrdEther = 1;
    public const ushort ArphrdLoopback = 772;

    public const byte PacketHost = 0;
    public const byte PacketBroadcast = 1;
    public const byte PacketMulticast = 2;
    public const byte PacketOtherHost = 3;
    public const byte PacketOutgoing = 4;

    private readonly NetworkStack _stack;

    // Protected by the stack's lock.
    private readonly Queue<(PacketBuffer Frame, PacketSource From)> _queue = new();
    private int _queuedBytes;
    private ushort _protocol;
    private int _ifIndex;
    private long _packets;
    private long _drops;
    private bool _closed;
    private IReadinessListener? _listener;

    public PacketEndpoint(NetworkStack stack, bool cooked, ushort protocol)
    {
        _stack = stack;
        Cooked = cooked;
        _protocol = protocol;
        lock (stack.Mu)
        {
            stack.PacketEndpoints.Add(this);
        }
    }

    /// <summary>SOCK_DGRAM: frames are read and written without their link header.</summary>
    public bool Cooked { get; }

    /// <summary>SO_RCVBUF: the most bytes of frames held; more are dropped.</summary>
    public int ReceiveBufferSize { get; set; } = RawEndpoint.DefaultReceiveBuffer;

    /// <summary>The EtherType received (host order; 0: none yet).</summary>
    public ushort Protocol
    {
        get
        {
            lock (_stack.Mu)
            {
                return _protocol;
            }
        }
    }

    /// <summary>The bound interface (0: every interface).</summary>
    public int IfIndex
    {
        get
        {
            lock (_stack.Mu)
            {
                return _ifIndex;
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

    /// <summary>The size of the next frame as read (FIONREAD), 0 when none.</summary>
    public int NextLength
    {
        get
        {
            lock (_stack.Mu)
            {
                return _queue.TryPeek(out var e) ? e.Frame.Length : 0;
            }
        }
    }

    private int EventsLocked() => Readiness.Writable | (_queue.Count > 0 ? Readiness.Readable : 0);

    /// <summary>The hardware type and address of interface <paramref name="ifIndex"/>; false when there is none.</summary>
    public bool InterfaceInfo(int ifIndex, out ushort haType, out MacAddress address)
    {
        lock (_stack.Mu)
        {
            Nic? nic = _stack.NicByIdLocked(ifIndex);
            haType = nic == null || nic.IsLoopback ? ArphrdLoopback : ArphrdEther;
            address = nic?.Link.Address ?? MacAddress.Zero;
            return nic != null;
        }
    }

    /// <summary>bind(2) with a sockaddr_ll: interface (0: all) and protocol (0: keep the current one). ENODEV for no such interface.</summary>
    public Errno Bind(int ifIndex, ushort protocol)
    {
        lock (_stack.Mu)
        {
            if (ifIndex != 0 && _stack.NicByIdLocked(ifIndex) == null)
            {
                return Errno.ENODEV;
            }

            _ifIndex = ifIndex;
            if (protocol != 0)
            {
                _protocol = protocol;
            }

            return Errno.None;
        }
    }

    /// <summary>
    /// Sends a frame on interface <paramref name="ifIndex"/>: <paramref name="data"/> with its link header, or
    /// (cooked) the payload of a frame of <paramref name="protocol"/> to <paramref name="dst"/>. ENXIO for no
    /// interface, EINVAL for a frame shorter than its link header, EMSGSIZE above the MTU.
    /// </summary>
    public Errno Send(int ifIndex, ushort protocol, MacAddress dst, ReadOnlySpan<byte> data)
    {
        lock (_stack.Mu)
        {
            Nic? nic = ifIndex == 0 ? null : _stack.NicByIdLocked(ifIndex);
            if (nic == null)
            {
                return Errno.ENXIO;
            }

            int header = Cooked ? 0 : NetworkStack.EthernetHeaderLength;
            if (data.Length < header)
            {
                return Errno.EINVAL;
            }

            if (data.Length - header > nic.Mtu)
            {
                return Errno.EMSGSIZE;
            }

            PacketBuffer p = PacketBuffer.Rent(data.Length + NetworkStack.EthernetHeaderLength);
            if (Cooked)
            {
                Span<byte> eth = p.Append(NetworkStack.EthernetHeaderLength);
                dst.Write(eth);
                nic.Link.Address.Write(eth[6..]);
                BinaryPrimitives.WriteUInt16BigEndian(eth[12..], protocol);
            }

            data.CopyTo(p.Append(data.Length));
            _stack.SendFrameLocked(nic, p, this);
            _stack.RunLoopbackLocked();
            return Errno.None;
        }
    }

    /// <summary>
    /// Takes (or with <paramref name="peek"/> copies) the next frame as this socket reads it;
    /// <paramref name="length"/> is its full length. EAGAIN if none.
    /// </summary>
    public Errno Receive(Span<byte> buffer, out int length, out PacketSource from, bool peek)
    {
        lock (_stack.Mu)
        {
            length = 0;
            from = default;
            if (!_queue.TryPeek(out var e))
            {
                return Errno.EAGAIN;
            }

            ReadOnlySpan<byte> d = e.Frame.Span;
            length = d.Length;
            from = e.From;
            d[..Math.Min(d.Length, buffer.Length)].CopyTo(buffer);
            if (!peek)
            {
                _queue.Dequeue();
                _queuedBytes -= e.Frame.Length;
                e.Frame.Release();
                _listener?.OnReadinessChanged(EventsLocked());
            }

            return Errno.None;
        }
    }

    /// <summary>PACKET_STATISTICS: frames seen (dropped ones included, as Linux counts) and dropped since the last call.</summary>
    public (long Packets, long Drops) TakeStatistics()
    {
        lock (_stack.Mu)
        {
            var s = (_packets + _drops, _drops);
            _packets = 0;
            _drops = 0;
            return s;
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
            _stack.PacketEndpoints.Remove(this);
            while (_queue.TryDequeue(out var e))
            {
                e.Frame.Release();
            }

            _queuedBytes = 0;
        }
    }

    /// <summary>Whether a frame of <paramref name="type"/> on <paramref name="nic"/> in that direction is for this socket.</summary>
    internal bool MatchesLocked(Nic nic, ushort type, bool outgoing) =>
        !_closed && (_ifIndex == 0 || _ifIndex == nic.Id) && (_protocol == EthPAll || (!outgoing && _protocol == type && type != 0));

    /// <summary>Queues a copy of a frame (its Ethernet header, then its payload) unless the buffer is full.</summary>
    internal void DeliverLocked(ReadOnlySpan<byte> linkHeader, ReadOnlySpan<byte> payload, in PacketSource from)
    {
        int length = Cooked ? payload.Length : linkHeader.Length + payload.Length;
        if (_queuedBytes + length > ReceiveBufferSize)
        {
            _drops++;
            return;
        }

        _packets++;
        PacketBuffer p = PacketBuffer.Rent(length);
        if (!Cooked)
        {
            linkHeader.CopyTo(p.Append(linkHeader.Length));
        }

        payload.CopyTo(p.Append(payload.Length));
        _queue.Enqueue((p, from));
        _queuedBytes += length;
        _listener?.OnReadinessChanged(EventsLocked());
    }
}
