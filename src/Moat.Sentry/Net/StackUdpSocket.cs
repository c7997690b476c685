using System;
using System.Buffers;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// An AF_INET or AF_INET6 UDP socket over the Sentry's netstack (a UdpEndpoint of the SandboxNetwork); an
/// AF_INET6 one also sends and receives IPv4 as mapped addresses unless IPV6_V6ONLY. A datagram goes through a
/// pooled Sentry buffer on its way (the endpoint builds the packet from a span), so no call allocates.
/// </summary>
internal sealed class StackUdpSocket : StackDatagramSocket
{
    private const int MaxDatagram = 65507;
    private const int MaxDatagram6 = 65527;

    // Keys of the stored options (level << 16 | name) that set what a datagram carries: IP_TOS, IP_TTL,
    // IPV6_UNICAST_HOPS and IPV6_TCLASS.
    private const int IpTosKey = 1;
    private const int IpTtlKey = 2;
    private const int Ipv6HopsKey = (41 << 16) | 16;
    private const int Ipv6TClassKey = (41 << 16) | 67;

    // The arrival time of the last datagram read (Linux's sk_stamp); -1 before the first. Protected by Mu.
    private long _lastStampNs = -1;

    private readonly UdpEndpoint _ep;
    private readonly SandboxNetwork _net;

    public StackUdpSocket(SandboxNetwork net, UdpEndpoint ep, int flags, uint uid)
        : base(ep.IsV6 ? InetAddr.AF_INET6 : InetAddr.AF_INET, SOCK_DGRAM, flags, uid)
    {
        _ep = ep;
        _net = net;
        net.Register(this);
        ep.Listener = this;
    }

    public override bool IsConnectedSocket => _ep.Connected;

    public override bool IsBound => _ep.LocalPort != 0;

    public override int ReceiveBuffer
    {
        get => _ep.ReceiveBufferSize;
        set => _ep.ReceiveBufferSize = value;
    }

    public override int TakeError() => _ep.TakeError().Value;

    public override long GetName(bool peer, out InetAddr a)
    {
        if (peer)
        {
            a = new InetAddr(_ep.RemoteAddress.Value, _ep.RemotePort);
            return _ep.Connected ? 0 : -Errno.ENOTCONN.Value;
        }

        a = new InetAddr(_ep.LocalPort == 0 && Family == InetAddr.AF_INET6 ? 0 : _ep.LocalAddress.Value, _ep.LocalPort);
        return 0;
    }

    public override long Bind(InetAddr a)
    {
        if (Family == InetAddr.AF_INET6 && a.IsV4 && V6Only)
        {
            return -Errno.EINVAL.Value;
        }

        _ep.ReuseAddress = ReuseAddr;
        _ep.ReusePort = ReusePort;
        _ep.V6Only = V6Only;
        return -_ep.Bind(StackAddress.Local(a), a.Port).Value;
    }

    public override long Connect(Task t, InetAddr dst)
    {
        if (Family == InetAddr.AF_INET6 && dst.IsV4 && V6Only)
        {
            return -Errno.ENETUNREACH.Value;
        }

        _ep.V6Only = V6Only;
        long r = -_ep.Connect(StackAddress.Remote(dst), dst.Port).Value;
        Events.Notify();
        return r;
    }

    public override long Disconnect()
    {
        _ep.Disconnect();
        Events.Notify();
        return 0;
    }

    public override long Send(Task t, in IoSequence src, int flags, InetAddr? dst) => Send(t, src, flags, dst, -1, -1);

    /// <summary>send with the hop limit (TTL) and traffic class (TOS) of a sendmsg's control messages (-1: the socket's).</summary>
    public long Send(Task t, in IoSequence src, int flags, InetAddr? dst, int hops, int tclass)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        if (WriteShut)
        {
            return PipeError(t, flags);
        }

        if (dst is InetAddr d)
        {
            if (d.Port == 0)
            {
                return -Errno.EINVAL.Value;
            }

            if (Family == InetAddr.AF_INET6 && d.IsV4 && V6Only)
            {
                return -Errno.ENETUNREACH.Value;
            }
        }

        bool v4 = dst is InetAddr to4 ? to4.IsV4 : !_ep.Connected || _ep.RemoteAddress.IsV4;
        if (src.Total > (ulong)(v4 ? MaxDatagram : MaxDatagram6))
        {
            return -Errno.EMSGSIZE.Value;
        }

        if (hops < 0 && Options.TryGetValue(v4 ? IpTtlKey : Ipv6HopsKey, out int h))
        {
            hops = h;
        }

        if (tclass < 0)
        {
            tclass = Options.GetValueOrDefault(v4 ? IpTosKey : Ipv6TClassKey, 0);
        }

        int len = (int)src.Total;
        byte[] buf = ArrayPool<byte>.Shared.Rent(Math.Max(len, 1));
        try
        {
            if (src.CopyIn(t.MM, 0, buf.AsSpan(0, len)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            _ep.V6Only = V6Only;
            Errno err = dst is InetAddr to
                ? _ep.SendTo(buf.AsSpan(0, len), StackAddress.Remote(to), to.Port, hops, tclass)
                : _ep.SendTo(buf.AsSpan(0, len), default, 0, hops, tclass);
            return err == Errno.None ? len : -err.Value;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>recv, with the hop limit, traffic class and arrival time the datagram came with (for recvmsg's control messages).</summary>
    public long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags, out int hops, out int tclass, out long stampNs)
    {
        long r = ReceiveDatagram(t, dst, flags, out Origin origin, out msgFlags);
        (from, hops, tclass, stampNs) = (origin.From, origin.Hops, origin.TClass, origin.StampNs);
        return r;
    }

    protected override int EndpointEvents => _ep.Events;

    public override Errno Dequeue(Span<byte> buffer, bool peek, out int length, out Origin origin)
    {
        Errno err = _ep.Receive(buffer, out length, out IpAddress src, out ushort port, out DatagramInfo info, peek);
        origin = new Origin(new InetAddr(src.Value, port), info.Ttl, info.Tos, info.ArrivalNs);
        if (err == Errno.None)
        {
            lock (Mu)
            {
                _lastStampNs = info.ArrivalNs;
            }
        }

        return err;
    }

    public override int Available => _ep.NextLength;

    public override bool LastStamp(out long ns)
    {
        lock (Mu)
        {
            ns = _lastStampNs;
            return ns >= 0;
        }
    }

    /// <summary>Bytes of the datagrams waiting to be read (/proc/net/udp's rx_queue).</summary>
    public int Queued => _ep.QueuedBytes;

    protected override void CloseEndpoint()
    {
        _net.Unregister(this);
        _ep.Listener = null;
        _ep.Close();
    }
}
