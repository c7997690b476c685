using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// A TCP socket on the loopback network. There are no packets: a connection is two sockets that point at
/// each other, and each owns a receive ring that its peer copies into (TcpSocket.Data.cs). What Linux's TCP
/// shows through the socket API is kept: the listen backlog (a full accept queue makes connects wait), FIN
/// (EOF after the data), RST when a socket is closed with unread data or SO_LINGER 0 (ECONNRESET), EPIPE on
/// a write after the peer is gone, and EINPROGRESS for non-blocking connects. Lock order: two sockets' Mu
/// are only held together by connect, taken in order of creation (Inode); WaitQueues are leaves.
/// </summary>
internal sealed partial class TcpSocket : InetSocket
{
    /// <summary>Linux's net.ipv4.tcp_rmem and tcp_wmem defaults, which SO_RCVBUF and SO_SNDBUF report.</summary>
    public const int DefaultReceiveBuffer = 131072;
    public const int DefaultSendBuffer = 16384;

    /// <summary>The ceilings of autotuning: tcp_rmem[2] and tcp_wmem[2] (what Linux picks on a machine this size).</summary>
    public const int MaxReceiveBuffer = 6291456;
    public const int MaxSendBuffer = 4194304;

    /// <summary>net.core.somaxconn: the ceiling of listen's backlog.</summary>
    public const int Somaxconn = 4096;

    private enum State
    {
        Closed,
        Listen,
        Connecting,
        Established,
    }

    // Protected by Mu.
    private State _state;
    private TcpSocket? _peer;
    private ByteRing? _rx;
    private bool _finReceived;
    private bool _peerGone;
    private bool _shutRead;
    private bool _shutWrite;
    private bool _everConnected;

    // A connect answered EINPROGRESS (or was interrupted): the next connect reports how it ended, as Linux's
    // SS_CONNECTING does.
    private bool _connectPending;
    private int _backlog;
    // Established connections in arrival order; under TCP_DEFER_ACCEPT one waits here until it is ready.
    private readonly List<TcpSocket> _acceptQueue = [];
    private readonly Queue<TcpSocket> _synQueue = new();
    private TcpSocket? _listener;

    // Cached wait conditions, so that blocking allocates nothing.
    private readonly Func<bool> _canRead;
    private readonly Func<bool> _canWrite;
    private readonly Func<bool> _canAccept;
    private readonly Func<bool> _connectDone;

    public TcpSocket(LoopbackStack stack, int family, int flags, uint uid)
        : base(stack, family, SOCK_STREAM, flags, uid)
    {
        SendBuffer = DefaultSendBuffer;
        ReceiveBuffer = DefaultReceiveBuffer;
        _canRead = CanRead;
        _canWrite = CanWrite;
        _canAccept = CanAccept;
        _connectDone = ConnectDone;
    }

    public override bool IsListeningSocket
    {
        get
        {
            lock (Mu)
            {
                return _state == State.Listen;
            }
        }
    }

    public override bool IsConnectedSocket
    {
        get
        {
            lock (Mu)
            {
                return _state == State.Established && !_peerGone;
            }
        }
    }

    /// <summary>getpeername has a peer to report while the socket is established, even after its peer closed.</summary>
    public override long GetName(bool peer, out InetAddr a)
    {
        lock (Mu)
        {
            a = peer ? Peer : Local;
            return !peer || _state == State.Established ? 0 : -Errno.ENOTCONN.Value;
        }
    }

    /// <summary>The state number /proc/net/tcp shows (1 ESTABLISHED, 2 SYN_SENT, 7 CLOSE, 8 CLOSE_WAIT, 10 LISTEN).</summary>
    public int ProcState
    {
        get
        {
            lock (Mu)
            {
                return ProcStateLocked();
            }
        }
    }

    // Preconditions: Mu is held.
    private int ProcStateLocked() => _state switch
    {
        State.Listen => 10,
        State.Connecting => 2,
        State.Established when _finReceived => 8, // CLOSE_WAIT
        State.Established when _shutWrite => 5, // FIN_WAIT2: the loopback peer acknowledges the FIN at once
        State.Established => 1,
        _ => 7,
    };

    /// <summary>Bytes queued for reading (receive queue) and, for listeners, the accept queue's length.</summary>
    public (int Rx, int Backlog) ProcQueues
    {
        get
        {
            lock (Mu)
            {
                return (VisibleLocked, _acceptQueue.Count);
            }
        }
    }

    /// <summary>
    /// What this end may hold unread. With no SO_RCVBUF set, Linux's autotuning lets the window grow to
    /// tcp_rmem[2] as the reader keeps up; the ring's memory follows the data, so the ceiling costs nothing
    /// until bytes queue. A set SO_RCVBUF is a fixed size.
    /// </summary>
    private int ReceiveLimit => ReceiveBufferLocked ? ReceiveBuffer : MaxReceiveBuffer;

    /// <summary>What this end may have written and not yet delivered to the reader: its send buffer (tcp_wmem[2] when autotuned).</summary>
    private int SendLimit => SendBufferLocked ? SendBuffer : MaxSendBuffer;

    /// <summary>listen(2): an unbound socket first gets an ephemeral port, as Linux's inet_autobind.</summary>
    public override long Listen(int backlog)
    {
        lock (Mu)
        {
            if (_state is State.Established or State.Connecting)
            {
                return -Errno.EINVAL.Value;
            }

            if (!IsBound)
            {
                long r = Stack.Bind(this, new InetAddr(Family == InetAddr.AF_INET ? InetAddr.V4Any : 0, 0), out InetAddr bound);
                if (r < 0)
                {
                    return r;
                }

                Local = bound;
            }
            else if (_state != State.Listen && Stack.ListenConflicts(this))
            {
                return -Errno.EADDRINUSE.Value;
            }

            _state = State.Listen;
            _backlog = Math.Clamp(backlog, 0, Somaxconn);
        }

        Events.Notify();
        return 0;
    }

    /// <summary>
    /// connect(2): finds the listener of the destination and joins it, or waits while its accept queue is full.
    /// A non-blocking connect answers EINPROGRESS and completes in the background, as Linux's handshake does.
    /// </summary>
    public override long Connect(Task t, InetAddr dst)
    {
        long r = Route(ref dst);
        if (r < 0)
        {
            return r;
        }

        lock (Mu)
        {
            if (_connectPending && _state != State.Connecting)
            {
                _connectPending = false;
                if (_state == State.Established)
                {
                    return 0;
                }

                int e = Error;
                Error = 0;
                DisconnectLocked();
                return -(e != 0 ? e : Errno.ECONNABORTED.Value);
            }

            switch (_state)
            {
                case State.Listen or State.Established:
                    return -Errno.EISCONN.Value;
                case State.Connecting:
                    return -Errno.EALREADY.Value;
            }

            r = AutobindLocked(dst);
            if (r < 0)
            {
                return r;
            }

            Peer = dst;
            _state = State.Connecting;
        }

        TcpSocket? listener = Stack.FindListener(dst);
        lock (Mu)
        {
            _listener = listener;
        }

        bool queued = listener != null && listener.Offer(this);
        if (listener == null || (!queued && !listener.IsListeningSocket))
        {
            FailConnect(Errno.ECONNREFUSED.Value);
            if (!NonBlocking)
            {
                lock (Mu)
                {
                    Error = 0;
                    DisconnectLocked();
                }

                return -Errno.ECONNREFUSED.Value;
            }

            return ConnectInProgress();
        }

        if (NonBlocking)
        {
            return ConnectInProgress();
        }

        r = new SocketDeadline(SendTimeoutUs).Wait(t, Events, _connectDone);
        if (r < 0)
        {
            // An interrupted connect goes on in the background, as in Linux.
            ConnectInProgress();
            return r == -Errno.EAGAIN.Value ? -Errno.EINPROGRESS.Value : r;
        }

        lock (Mu)
        {
            if (_state == State.Established)
            {
                return 0;
            }

            int e = Error;
            Error = 0;
            DisconnectLocked();
            return -(e != 0 ? e : Errno.ECONNREFUSED.Value);
        }
    }

    private long ConnectInProgress()
    {
        lock (Mu)
        {
            _connectPending = true;
        }

        return -Errno.EINPROGRESS.Value;
    }

    private bool ConnectDone()
    {
        lock (Mu)
        {
            return _state != State.Connecting;
        }
    }

    // A connect that found no listener, or whose listener went away.
    private void FailConnect(int errno)
    {
        lock (Mu)
        {
            if (_state != State.Connecting)
            {
                return;
            }

            _state = State.Closed;
            Error = errno;
            NetCounters.Add(ref Stack.Counters.TcpAttemptFails, 1);

            // The reset shuts both directions, as tcp_done does: reads see EOF once the error is taken.
            _shutRead = true;
            _shutWrite = true;
        }

        Events.Notify();
    }

    // A connect that failed and reported it: the socket is unconnected again and may connect anew (tcp_disconnect).
    // Preconditions: Mu is held.
    private void DisconnectLocked()
    {
        _shutRead = false;
        _shutWrite = false;
        _connectPending = false;
    }

    /// <summary>
    /// A connect reaches this listener: established at once when the accept queue has room (Linux holds one
    /// more than the backlog), otherwise left waiting in the SYN queue. False when this is no longer a listener.
    /// </summary>
    private bool Offer(TcpSocket client)
    {
        lock (Mu)
        {
            if (_state != State.Listen)
            {
                return false;
            }

            if (_acceptQueue.Count > _backlog)
            {
                _synQueue.Enqueue(client);
                return true;
            }
        }

        return Establish(client);
    }

    // Makes the server end of a connection from client and queues it for accept.
    private bool Establish(TcpSocket client)
    {
        var child = new TcpSocket(Stack, Family, 0, Uid)
        {
            ReuseAddr = ReuseAddr,
            ReusePort = ReusePort,
            V6Only = V6Only,
            SendBuffer = SendBuffer,
            ReceiveBuffer = ReceiveBuffer,
            SendBufferLocked = SendBufferLocked,
            ReceiveBufferLocked = ReceiveBufferLocked,
        };
        foreach (KeyValuePair<int, int> o in Options)
        {
            child.Options[o.Key] = o.Value;
        }

        (TcpSocket first, TcpSocket second) = client.Inode < Inode ? (client, this) : (this, client);
        lock (first.Mu)
        lock (second.Mu)
        {
            if (_state != State.Listen || client._state != State.Connecting)
            {
                return false;
            }

            InetAddr dst = client.Peer;
            child.Local = new InetAddr(dst.Ip, Local.Port);
            child.Peer = client.SourceFor(dst);
            child._state = State.Established;
            child._everConnected = true;
            child._peer = client;
            child._rx = new ByteRing(child.ReceiveLimit + client.SendLimit);

            client.Local = client.SourceFor(dst);
            client._peer = child;
            client._rx = new ByteRing(client.ReceiveLimit + child.SendLimit);
            client._state = State.Established;
            client._everConnected = true;
            client._listener = null;
            child._active = false;
            client._active = true;
            DeferLocked(child);
            _acceptQueue.Add(child);
        }

        Stack.BindChild(child);
        NetCounters.Add(ref Stack.Counters.TcpActiveOpens, 1);
        NetCounters.Add(ref Stack.Counters.TcpPassiveOpens, 1);
        client.Events.Notify();
        Events.Notify();
        return true;
    }

    /// <summary>accept(2): takes the oldest established connection; a connect waiting for room then gets its turn.</summary>
    public override long Accept(Task t, out InetSocket? conn)
    {
        conn = null;
        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        TcpSocket? waiting = null;
        while (true)
        {
            lock (Mu)
            {
                if (_state != State.Listen)
                {
                    return -Errno.EINVAL.Value;
                }

                int ready = FirstReadyLocked();
                if (ready >= 0)
                {
                    conn = _acceptQueue[ready];
                    _acceptQueue.RemoveAt(ready);
                    break;
                }

                if (NonBlocking)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long r = deadline.Wait(t, Events, _canAccept);
            if (r < 0)
            {
                return r;
            }
        }

        // A connect waiting for room gets its turn (one closed meanwhile is skipped).
        while (true)
        {
            lock (Mu)
            {
                waiting = _synQueue.Count > 0 ? _synQueue.Dequeue() : null;
            }

            if (waiting == null || Establish(waiting))
            {
                break;
            }
        }

        return 0;
    }

    private bool CanAccept()
    {
        lock (Mu)
        {
            return _state != State.Listen || FirstReadyLocked() >= 0;
        }
    }

    /// <summary>shutdown(2): SHUT_WR sends FIN (the peer reads EOF); SHUT_RD makes reads end. A listener stops listening.</summary>
    public override long Shutdown(int how)
    {
        if (how is < 0 or > 2)
        {
            return -Errno.EINVAL.Value;
        }

        TcpSocket? peer;
        List<TcpSocket>? dropped = null;
        List<TcpSocket>? refused = null;
        lock (Mu)
        {
            if (_state == State.Listen && how != 1)
            {
                // Linux moves a listener shut down for reading back to CLOSE: blocked accepts end with EINVAL.
                _state = State.Closed;
                DropQueuesLocked(out dropped, out refused);
            }
        }

        if (dropped != null)
        {
            // The dropped connections are reset outside this socket's lock (their release takes other sockets' locks).
            Finish(dropped, refused!);
            Events.Notify();
            return 0;
        }

        lock (Mu)
        {
            if (_state == State.Listen)
            {
                // SHUT_WR of a listener changes nothing.
                return 0;
            }

            if (_state != State.Established)
            {
                return -Errno.ENOTCONN.Value;
            }

            if (how != 1)
            {
                _shutRead = true;
            }

            peer = null;
            if (how != 0 && !_shutWrite)
            {
                _shutWrite = true;
                peer = _peer;
            }
        }

        peer?.ReceiveFin();
        Events.Notify();
        return 0;
    }

    // The peer will send no more: reads end after the data.
    private void ReceiveFin()
    {
        TcpSocket? listener;
        lock (Mu)
        {
            _finReceived = true;
            _held = 0;
            listener = UndeferLocked();
        }

        listener?.Events.Notify();
        Events.Notify();
    }

    // The peer closed. With rst (close with unread data, SO_LINGER 0) the connection is reset: ECONNRESET.
    private void PeerClosed(bool rst)
    {
        TcpSocket? listener;
        lock (Mu)
        {
            _peerGone = true;
            _held = 0;
            listener = UndeferLocked();
            if (rst)
            {
                NetCounters.Add(ref Stack.Counters.TcpEstabResets, 1);
                Error = Errno.ECONNRESET.Value;
                _shutWrite = true;
                _shutRead = true;
            }
            else
            {
                _finReceived = true;
            }
        }

        listener?.Events.Notify();
        Events.Notify();
    }

    // Preconditions: Mu is held.
    private void DropQueuesLocked(out List<TcpSocket> dropped, out List<TcpSocket> refused)
    {
        dropped = [.. _acceptQueue];
        refused = [.. _synQueue];
        _acceptQueue.Clear();
        _synQueue.Clear();
    }

    // Connections never accepted are reset; connects still waiting are refused.
    private static void Finish(List<TcpSocket> dropped, List<TcpSocket> refused)
    {
        foreach (TcpSocket c in dropped)
        {
            c.LingerOn = true;
            c.LingerSeconds = 0;
            c.DecRef();
        }

        foreach (TcpSocket c in refused)
        {
            c.FailConnect(Errno.ECONNREFUSED.Value);
        }
    }

    public override int Readiness(int events)
    {
        int r = 0;
        TcpSocket? peer;
        lock (Mu)
        {
            if (Error != 0)
            {
                r |= PollEvents.POLLERR;
            }

            switch (_state)
            {
                case State.Listen:
                    return (FirstReadyLocked() >= 0 ? PollEvents.POLLIN | PollEvents.POLLRDNORM : 0) & (events | PollEvents.POLLERR);
                case State.Connecting:
                    return r & (events | PollEvents.POLLERR);
                case State.Closed:
                    // A socket that never connected, or whose connect failed, is hung up and "writable"; a
                    // refused one is also readable (EOF).
                    r |= PollEvents.POLLHUP | PollEvents.POLLOUT | PollEvents.POLLWRNORM;
                    if (_shutRead)
                    {
                        r |= PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLRDHUP;
                    }

                    return r & (events | PollEvents.POLLHUP | PollEvents.POLLERR);
            }

            bool readShut = _finReceived || _shutRead;
            if ((_shutWrite && readShut) || (_peerGone && Error != 0))
            {
                r |= PollEvents.POLLHUP;
            }

            if (readShut)
            {
                r |= PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLRDHUP;
            }

            if (VisibleLocked > 0)
            {
                r |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
            }

            if (_shutWrite || _peerGone)
            {
                r |= PollEvents.POLLOUT | PollEvents.POLLWRNORM;
                return r & (events | PollEvents.POLLHUP | PollEvents.POLLERR);
            }

            peer = _peer;
        }

        if (peer != null && peer.HasRoom())
        {
            r |= PollEvents.POLLOUT | PollEvents.POLLWRNORM;
        }

        return r & (events | PollEvents.POLLHUP | PollEvents.POLLERR);
    }

    protected override void Release()
    {
        TcpSocket? peer;
        bool rst;
        List<TcpSocket>? dropped = null;
        List<TcpSocket>? refused = null;
        TcpSocket? listener;
        lock (Mu)
        {
            if (_state == State.Listen)
            {
                DropQueuesLocked(out dropped, out refused);
            }

            peer = _state == State.Established && !_peerGone ? _peer : null;
            rst = VisibleLocked > 0 || (LingerOn && LingerSeconds == 0);
            listener = _state == State.Connecting ? _listener : null;
            _state = State.Closed;
            _peer = null;
            _rx?.Dispose();
            _rx = null;
            _held = 0;
            _deferListener = null;
            _deferTimer?.Dispose();
            _deferTimer = null;
            _corkTimer?.Dispose();
            _corkTimer = null;
        }

        if (dropped != null)
        {
            Finish(dropped, refused!);
        }

        listener?.ForgetConnect(this);
        peer?.PeerClosed(rst);
        Unbind();
        Events.Notify();
    }

    // A connect waiting in the SYN queue was closed: it leaves the queue.
    private void ForgetConnect(TcpSocket client)
    {
        lock (Mu)
        {
            if (_synQueue.Contains(client))
            {
                var keep = new Queue<TcpSocket>(_synQueue.Count);
                foreach (TcpSocket c in _synQueue)
                {
                    if (c != client)
                    {
                        keep.Enqueue(c);
                    }
                }

                _synQueue.Clear();
                foreach (TcpSocket c in keep)
                {
                    _synQueue.Enqueue(c);
                }
            }
        }
    }
}
