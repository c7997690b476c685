using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs;
using Ready = Moat.Sentry.Net.Stack.Readiness;

namespace Moat.Sentry.Net;

/// <summary>
/// What the netstack's datagram sockets (StackUdpSocket, StackRawSocket, StackPingSocket) share: no listen or
/// accept; shutdown(2) as inet_shutdown and datagram_poll keep it; the receive loop (a pooled buffer, the
/// endpoint's receive, MSG_TRUNC, a wait bounded by SO_RCVTIMEO: <see cref="DatagramReceive"/>, which the packet
/// socket shares); and closing the endpoint on release.
/// </summary>
internal abstract class StackDatagramSocket : InetSocket, IReadinessListener, IDatagramQueue<StackDatagramSocket.Origin>
{
    /// <summary>net.core.rmem_default and wmem_default: SO_SNDBUF (and SO_RCVBUF) of a fresh datagram socket.</summary>
    public const int DefaultBuffer = 212992;

    // The largest datagram a receive takes: a whole IPv4 datagram (header included, for raw sockets).
    private const int ReceiveBufferSize = 65536;

    private readonly Func<bool> _canRead;

    // Protected by Mu.
    private bool _shutRead;
    private bool _shutWrite;

    protected StackDatagramSocket(int family, int type, int flags, uint uid)
        : base(family, type, flags, uid)
    {
        _canRead = CanRead;
        SendBuffer = DefaultBuffer;
    }

    /// <summary>Where a received datagram came from and what it carried (for recvmsg's control messages).</summary>
    public readonly record struct Origin(InetAddr From, int Hops, int TClass, long StampNs);

    /// <summary>The endpoint's readiness (<see cref="Ready"/> bits).</summary>
    protected abstract int EndpointEvents { get; }

    /// <summary>The answer to recv with MSG_OOB: EINVAL from UDP and ping, EOPNOTSUPP from raw sockets, as Linux.</summary>
    protected virtual Errno OobReceiveError => Errno.EINVAL;

    /// <summary>Takes (or with <paramref name="peek"/> copies) the next datagram into <paramref name="buffer"/>: its whole length and origin, or EAGAIN.</summary>
    public abstract Errno Dequeue(Span<byte> buffer, bool peek, out int length, out Origin origin);

    /// <summary>Detaches from the endpoint and closes it.</summary>
    protected abstract void CloseEndpoint();

    /// <summary>connect(AF_UNSPEC): forgets the peer.</summary>
    public abstract long Disconnect();

    public void OnReadinessChanged(int events) => Events.Notify();

    public override bool IsListeningSocket => false;

    public override long Listen(int backlog) => -Errno.EOPNOTSUPP.Value;

    public override long Accept(Task t, out InetSocket? conn)
    {
        conn = null;
        return -Errno.EOPNOTSUPP.Value;
    }

    /// <summary>Whether shutdown(SHUT_WR) was called: sends answer EPIPE.</summary>
    protected bool WriteShut
    {
        get
        {
            lock (Mu)
            {
                return _shutWrite;
            }
        }
    }

    public override long Shutdown(int how)
    {
        if (how is < 0 or > 2)
        {
            return -Errno.EINVAL.Value;
        }

        lock (Mu)
        {
            // inet_shutdown: an unconnected socket answers ENOTCONN but is shut down all the same.
            _shutRead |= how != 1;
            _shutWrite |= how != 0;
        }

        Events.Notify();
        return IsConnectedSocket ? 0 : -Errno.ENOTCONN.Value;
    }

    public override long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags)
    {
        long r = ReceiveDatagram(t, dst, flags, out Origin origin, out msgFlags);
        from = origin.From;
        return r;
    }

    /// <summary>recv: the next datagram, truncated to <paramref name="dst"/> (MSG_TRUNC in <paramref name="msgFlags"/>, its whole length with MSG_TRUNC in <paramref name="flags"/>).</summary>
    protected long ReceiveDatagram(Task t, in IoSequence dst, int flags, out Origin origin, out int msgFlags)
    {
        if ((flags & MSG_OOB) != 0)
        {
            origin = default;
            msgFlags = 0;
            return -OobReceiveError.Value;
        }

        return DatagramReceive.Receive<StackDatagramSocket, Origin>(this, t, dst, flags, IsNonBlocking(flags), ReceiveTimeoutUs, ReceiveBufferSize, Events, _canRead,
            out origin, out msgFlags);
    }

    public bool ReadShut
    {
        get
        {
            lock (Mu)
            {
                return _shutRead;
            }
        }
    }

    private bool CanRead()
    {
        if ((EndpointEvents & (Ready.Readable | Ready.Error)) != 0)
        {
            return true;
        }

        lock (Mu)
        {
            return _shutRead;
        }
    }

    public override int Readiness(int events)
    {
        int ready = EndpointEvents;
        lock (Mu)
        {
            // datagram_poll: a read shutdown makes the socket readable (and RDHUP); both directions are a hangup.
            if (_shutRead)
            {
                ready |= Ready.Readable | Ready.ReadHangUp;
            }

            if (_shutRead && _shutWrite)
            {
                ready |= Ready.HangUp;
            }
        }

        return ready & (events | PollEvents.POLLHUP | PollEvents.POLLERR);
    }

    protected override void Release()
    {
        CloseEndpoint();
        Events.Notify();
    }
}
