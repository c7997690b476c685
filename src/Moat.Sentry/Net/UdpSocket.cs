using System;
using System.Buffers;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// A UDP socket on the loopback network: a queue of datagrams, bounded by SO_RCVBUF (a datagram that does not
/// fit is dropped, as Linux drops it). A datagram to a port nobody has bound is lost; a connected sender then
/// gets ECONNREFUSED on its next call, which is what Linux's ICMP port-unreachable does.
/// </summary>
internal sealed class UdpSocket : InetSocket, IInetDatagramSocket
{
    /// <summary>net.core.rmem_default / wmem_default.</summary>
    public const int DefaultBuffer = 212992;

    // Linux charges every datagram its buffer overhead as well as its bytes; a rough equivalent.
    private const int Overhead = 768;

    // Keys of the stored options (level << 16 | name) that set what a datagram carries: IP_TOS, IP_TTL,
    // IPV6_UNICAST_HOPS and IPV6_TCLASS.
    private const int IpTosKey = 1;
    private const int IpTtlKey = 2;
    private const int Ipv6HopsKey = (41 << 16) | 16;
    private const int Ipv6TClassKey = (41 << 16) | 67;

    // A datagram with the hop limit (TTL) and traffic class (TOS) it was sent with, for IPV6_RECVHOPLIMIT and
    // friends, and the CLOCK_REALTIME nanoseconds of its arrival (SO_TIMESTAMP, SIOCGSTAMP).
    private readonly record struct Datagram(byte[] Data, int Length, InetAddr From, int Hops, int TClass, long StampNs);

    // Protected by Mu.
    private readonly Queue<Datagram> _queue = new();
    private long _queued;
    private bool _connected;
    private bool _portLocked;
    private bool _shutRead;
    private bool _shutWrite;
    private bool _released;

    // The arrival time of the last datagram read (Linux's sk_stamp); -1 before the first.
    private long _lastStampNs = -1;

    private readonly Func<bool> _canRead;

    public UdpSocket(LoopbackStack stack, int family, int flags, uint uid, bool lite = false)
        : base(stack, family, SOCK_DGRAM, flags, uid)
    {
        Lite = lite;
        SendBuffer = DefaultBuffer;
        ReceiveBuffer = DefaultBuffer;
        _canRead = CanRead;
    }

    /// <summary>UDP-Lite: the same datagrams on loopback (partial checksums change nothing here), its own ports.</summary>
    public bool Lite { get; }

    public override int Protocol => Lite ? IPPROTO_UDPLITE : IPPROTO_UDP;

    public override bool IsListeningSocket => false;

    public override bool IsConnectedSocket
    {
        get
        {
            lock (Mu)
            {
                return _connected;
            }
        }
    }

    /// <summary>Bytes queued, for /proc/net/udp.</summary>
    public long Queued
    {
        get
        {
            lock (Mu)
            {
                return _queued;
            }
        }
    }

    /// <summary>Marks an explicit bind, which a disconnect keeps (Linux's SOCK_BINDPORT_LOCK).</summary>
    public void LockPort()
    {
        lock (Mu)
        {
            _portLocked = true;
        }
    }

    public override long Connect(Task t, InetAddr dst)
    {
        long r = Route(ref dst);
        if (r < 0)
        {
            return r;
        }

        lock (Mu)
        {
            r = AutobindLocked(dst);
            if (r < 0)
            {
                return r;
            }

            if (Local.IsAny)
            {
                Local = SourceFor(dst);
            }

            Peer = dst;
            _connected = true;
        }

        Events.Notify();
        return 0;
    }

    /// <summary>connect(AF_UNSPEC): forgets the peer; a port the connect chose is given back.</summary>
    public long Disconnect()
    {
        lock (Mu)
        {
            _connected = false;
            Peer = default;
            if (IsBound && !_portLocked)
            {
                Unbind();
                Local = default;
            }
        }

        Events.Notify();
        return 0;
    }

    public override long Listen(int backlog) => -Errno.EOPNOTSUPP.Value;

    public override long Accept(Task t, out InetSocket? conn)
    {
        conn = null;
        return -Errno.EOPNOTSUPP.Value;
    }

    public override long Shutdown(int how)
    {
        if (how is < 0 or > 2)
        {
            return -Errno.EINVAL.Value;
        }

        lock (Mu)
        {
            if (how != 1)
            {
                _shutRead = true;
            }

            if (how != 0)
            {
                _shutWrite = true;
            }

            if (!_connected)
            {
                return -Errno.ENOTCONN.Value;
            }
        }

        Events.Notify();
        return 0;
    }

    public override long Send(Task t, in IoSequence src, int flags, InetAddr? to) => Send(t, src, flags, to, -1, -1);

    /// <summary>send with a hop limit and traffic class of this datagram's own (-1: the socket's), from sendmsg's control messages.</summary>
    public long Send(Task t, in IoSequence src, int flags, InetAddr? to, int hops, int tclass)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        InetAddr dst;
        bool viaConnect;
        InetAddr srcAddr;
        lock (Mu)
        {
            if (_shutWrite)
            {
                return PipeError(t, flags);
            }

            // A pending error (a port unreachable) is reported by the next call, which then does nothing else.
            if (Error != 0)
            {
                int e = Error;
                Error = 0;
                return -e;
            }

            if (to is InetAddr given)
            {
                dst = given;
                viaConnect = false;
                if (dst.Port == 0)
                {
                    return -Errno.EINVAL.Value;
                }
            }
            else if (_connected)
            {
                dst = Peer;
                viaConnect = true;
            }
            else
            {
                return -Errno.EDESTADDRREQ.Value;
            }

            long r = Route(ref dst);
            if (r < 0)
            {
                return r;
            }

            ulong max = dst.IsV4 ? 65507UL : 65527UL;
            if (src.Total > max)
            {
                return -Errno.EMSGSIZE.Value;
            }

            r = AutobindLocked(dst);
            if (r < 0)
            {
                return r;
            }

            srcAddr = SourceFor(dst);
        }

        int len = (int)src.Total;
        UdpSocket? target = Stack.FindUdp(dst, srcAddr, Lite);
        NetCounters.Add(ref Stack.Counters.UdpOutDatagrams, 1);
        Stack.Counters.CountLo(len);
        if (target == null)
        {
            NetCounters.Add(ref Stack.Counters.UdpNoPorts, 1);
            if (viaConnect)
            {
                lock (Mu)
                {
                    Error = Errno.ECONNREFUSED.Value;
                }

                Events.Notify();
            }

            return len;
        }

        byte[] buf = ArrayPool<byte>.Shared.Rent(Math.Max(len, 1));
        if (src.CopyIn(t.MM, 0, buf.AsSpan(0, len)) < 0)
        {
            ArrayPool<byte>.Shared.Return(buf);
            return -Errno.EFAULT.Value;
        }

        if (hops < 0)
        {
            hops = Options.GetValueOrDefault(dst.IsV4 ? IpTtlKey : Ipv6HopsKey, 64);
        }

        if (tclass < 0)
        {
            tclass = Options.GetValueOrDefault(dst.IsV4 ? IpTosKey : Ipv6TClassKey, 0);
        }

        if (!target.Deliver(new Datagram(buf, len, srcAddr, hops, tclass, InetSocket.RealtimeNs())))
        {
            ArrayPool<byte>.Shared.Return(buf);
        }

        return len;
    }

    // Queues a datagram unless the receive buffer is already full. Returns whether it was taken.
    private bool Deliver(Datagram d)
    {
        lock (Mu)
        {
            if (_released || _queued > ReceiveBuffer)
            {
                NetCounters.Add(ref Stack.Counters.UdpRcvbufErrors, 1);
                return false;
            }

            _queue.Enqueue(d);
            _queued += d.Length + Overhead;
        }

        NetCounters.Add(ref Stack.Counters.UdpInDatagrams, 1);

        Events.Notify();
        return true;
    }

    public override long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags) =>
        Receive(t, dst, flags, out from, out msgFlags, out _, out _, out _);

    /// <summary>recvmsg: also the hop limit and traffic class the datagram was sent with, and when it arrived.</summary>
    public long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags, out int hops, out int tclass, out long stampNs)
    {
        from = default;
        msgFlags = 0;
        hops = 0;
        tclass = 0;
        stampNs = 0;
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        while (true)
        {
            Datagram d;
            lock (Mu)
            {
                if (_queue.Count == 0)
                {
                    if (Error != 0)
                    {
                        int e = Error;
                        Error = 0;
                        return -e;
                    }

                    if (_shutRead)
                    {
                        return 0;
                    }

                    if (IsNonBlocking(flags))
                    {
                        return -Errno.EAGAIN.Value;
                    }
                }
                else
                {
                    d = _queue.Peek();
                    int n = (int)Math.Min((ulong)d.Length, dst.Total);
                    if (dst.CopyOut(t.MM, 0, d.Data.AsSpan(0, n)) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    from = d.From;
                    hops = d.Hops;
                    tclass = d.TClass;
                    stampNs = d.StampNs;
                    _lastStampNs = d.StampNs;
                    if (n < d.Length)
                    {
                        msgFlags |= MSG_TRUNC;
                    }

                    if ((flags & MSG_PEEK) == 0)
                    {
                        _queue.Dequeue();
                        _queued -= d.Length + Overhead;
                        ArrayPool<byte>.Shared.Return(d.Data);
                    }

                    return (flags & MSG_TRUNC) != 0 ? d.Length : n;
                }
            }

            long r = deadline.Wait(t, Events, _canRead);
            if (r < 0)
            {
                return r;
            }
        }
    }

    /// <summary>The arrival time of the last datagram read, for SIOCGSTAMP; false before the first.</summary>
    public override bool LastStamp(out long ns)
    {
        lock (Mu)
        {
            ns = _lastStampNs;
            return ns >= 0;
        }
    }

    private bool CanRead()
    {
        lock (Mu)
        {
            return _queue.Count > 0 || Error != 0 || _shutRead;
        }
    }

    public override int Available
    {
        get
        {
            lock (Mu)
            {
                return _queue.Count > 0 ? _queue.Peek().Length : 0;
            }
        }
    }

    public override int Readiness(int events)
    {
        int r = PollEvents.POLLOUT | PollEvents.POLLWRNORM | PollEvents.POLLWRBAND;
        lock (Mu)
        {
            if (Error != 0)
            {
                r |= PollEvents.POLLERR;
            }

            if (_queue.Count > 0)
            {
                r |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
            }

            if (_shutRead)
            {
                r |= PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLRDHUP;
            }

            if (_shutRead && _shutWrite)
            {
                r |= PollEvents.POLLHUP;
            }
        }

        return r & (events | PollEvents.POLLHUP | PollEvents.POLLERR);
    }

    protected override void Release()
    {
        lock (Mu)
        {
            _released = true;
            foreach (Datagram d in _queue)
            {
                ArrayPool<byte>.Shared.Return(d.Data);
            }

            _queue.Clear();
            _queued = 0;
        }

        Unbind();
        Events.Notify();
    }
}
