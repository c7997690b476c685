using System;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// A TCP endpoint: a listener or one connection, with the API the socket layer uses (Bind, Listen, Accept,
/// Connect, Send, Receive, Shutdown, Close) and readiness events for poll and epoll. Every call takes the
/// stack's lock; the protocol itself lives in TcpEndpoint.Input.cs (segment arrival), TcpEndpoint.Output.cs
/// (sending, congestion control) and TcpEndpoint.Timers.cs. Calls never block: where Linux would sleep they
/// answer EAGAIN (or EINPROGRESS for connect) and the caller waits for the readiness event.
/// </summary>
internal sealed partial class TcpEndpoint
{
    /// <summary>Linux's tcp_rmem and tcp_wmem defaults; the window is half the buffer (tcp_adv_win_scale 1).</summary>
    public const int DefaultReceiveBuffer = 131072;

    /// <summary>tcp_rmem[2] as Linux 6.18 sets it (32 MiB): the window scale follows from it (10).</summary>
    public const int MaxReceiveBuffer = 33554432;

    /// <summary>The most SO_RCVBUF gives (the sandbox's rmem_max ceiling as the socket layer applied it before).</summary>
    private const int MaxSetReceiveBuffer = 6291456;
    public const int DefaultSendBuffer = 16384;
    public const int MaxSendBuffer = 4194304;

    /// <summary>net.core.somaxconn.</summary>
    public const int MaxBacklog = 4096;

    private readonly NetworkStack _stack;

    // Everything below is protected by the stack's lock (_stack.Mu).
    private TcpState _state = TcpState.Closed;
    private TcpKey _key;
    private Route _route;
    private bool _bound;
    private bool _registered; // in the stack's connection table
    private bool _ownsPort;   // in the stack's port table
    private Errno _error;     // SO_ERROR: reported once
    private bool _shutRead;
    private bool _shutWrite;
    private bool _closed;     // the application closed it; the endpoint lives on to finish the protocol
    private bool _everConnected;  // a connection was attempted (or accepted)
    private bool _wasEstablished; // and reached ESTABLISHED
    private IReadinessListener? _listener;

    // Listening.
    private int _backlog;
    private readonly Queue<TcpEndpoint> _acceptQueue = new();
    private readonly List<TcpEndpoint> _synQueue = [];
    private TcpEndpoint? _parent; // the listener of a connection still in its SYN queue

    // The rings hold payload; _sndSpace and _rcvSpace are sk_sndbuf and sk_rcvbuf (what SO_SNDBUF and SO_RCVBUF
    // report: memory, skb overhead included), from which the rings' limits follow (TcpBufferSizing).
    private readonly TcpSendBuffer _sndBuf = new(TcpBufferSizing.SendPayload(DefaultSendBuffer));
    private readonly TcpReceiveBuffer _rcvBuf = new(TcpBufferSizing.WindowFromSpace(DefaultReceiveBuffer, TcpBufferSizing.DefaultScalingRatio));
    private int _sndSpace = DefaultSendBuffer;
    private int _rcvSpace = DefaultReceiveBuffer;
    private int _scalingRatio = TcpBufferSizing.DefaultScalingRatio;
    private bool _sndBufLocked;
    private bool _rcvBufLocked;

    /// <summary>How long TCP_CORK or MSG_MORE holds a partial segment at most (Linux's 200 ms ceiling).</summary>
    private const long CorkFlushNs = 200_000_000;

    // TCP_CORK, MSG_MORE of the last send, and the cork timer's push of what they hold.
    private bool _cork;
    private bool _more;
    private bool _pushHeld;
    private readonly StackTimer _corkTimer;

    // TCP_DEFER_ACCEPT of a listener: how long a connection's bare final ACK is ignored while no data came.
    private long _deferAcceptNs;
    private long _synReceivedNs;

    // TCP_INFO's counters: data bytes sent (retransmissions too), bytes acknowledged, bytes received in order,
    // the largest window the peer offered and Linux's estimate of the peer's MSS (tcp_measure_rcv_mss).
    private long _bytesSent;
    private long _bytesAcked;
    private long _bytesReceived;
    private long _maxSndWnd;
    private int _rcvMssEstimate = 536;

    public TcpEndpoint(NetworkStack stack, bool v6 = false)
    {
        _stack = stack;
        IsV6 = v6;
        _corkTimer = new StackTimer(OnCorkTimer);
        _rtxTimer = new StackTimer(OnRetransmitTimer);
        _delackTimer = new StackTimer(OnDelayedAckTimer);
        _stateTimer = new StackTimer(OnStateTimer);
        _keepaliveTimer = new StackTimer(OnKeepaliveTimer);
    }

    public TcpState State
    {
        get
        {
            lock (_stack.Mu)
            {
                return _state;
            }
        }
    }

    public TcpKey Key => _key;

    /// <summary>An AF_INET6 endpoint: its wildcard is :: (IPv4 too, unless <see cref="V6Only"/>).</summary>
    public bool IsV6 { get; }

    /// <summary>IPV6_V6ONLY: an AF_INET6 endpoint that takes and makes no IPv4 (mapped) connections.</summary>
    public bool V6Only { get; set; }

    private IpAddress Wildcard => IsV6 ? IpAddress.V6Any : IpAddress.V4Any;

    internal bool IsListeningLocked => _state == TcpState.Listen;

    /// <summary>Whether the connection counts in Tcp's CurrEstab (tcp_set_state's ESTABLISHED and CLOSE-WAIT).</summary>
    internal bool IsEstablishedLocked => _state is TcpState.Established or TcpState.CloseWait;

    // Closed by the application with data or its FIN not yet acknowledged: the stack is still sending.
    internal bool IsDrainingLocked => _state is TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck;

    /// <summary>RCV.NXT and SND.NXT, for tests that play the peer.</summary>
    internal uint ReceiveNext => _rcvNxt;

    internal uint SendNext => _sndNxt;

    /// <summary>TCP_NODELAY: send small segments at once instead of waiting for outstanding data's ACK (Nagle).</summary>
    public bool NoDelay { get; set; }

    /// <summary>SO_KEEPALIVE with Linux's tcp_keepalive_time/intvl/probes (7200 s, 75 s, 9).</summary>
    public bool KeepAlive
    {
        get => _keepAlive;
        set
        {
            lock (_stack.Mu)
            {
                _keepAlive = value;
                if (value && _state == TcpState.Established)
                {
                    ArmKeepaliveLocked();
                }
            }
        }
    }

    private bool _keepAlive;

    public long KeepIdleNs { get; set; } = 7200L * 1_000_000_000;
    public long KeepIntervalNs { get; set; } = 75L * 1_000_000_000;
    public int KeepCount { get; set; } = 9;

    /// <summary>SO_REUSEADDR for Bind.</summary>
    public bool ReuseAddress { get; set; }

    /// <summary>SO_REUSEPORT for Bind and Listen.</summary>
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

    /// <summary>The send buffer as SO_SNDBUF reports it (sk_sndbuf: memory, of which the payload is most).</summary>
    public int SendBufferSize
    {
        get
        {
            lock (_stack.Mu)
            {
                return _sndSpace;
            }
        }
        set
        {
            lock (_stack.Mu)
            {
                _sndBufLocked = true;
                SetSendSpaceLocked(Math.Clamp(value, 4608 / 2, MaxSendBuffer / 2) * 2); // SO_SNDBUF doubles what it is given
            }
        }
    }

    /// <summary>The receive buffer as SO_RCVBUF reports it (sk_rcvbuf; the window is its scaling_ratio share).</summary>
    public int ReceiveBufferSize
    {
        get
        {
            lock (_stack.Mu)
            {
                return _rcvSpace;
            }
        }
        set
        {
            lock (_stack.Mu)
            {
                _rcvBufLocked = true;
                // A window already advertised is never taken back (AdvertisedWindowLocked keeps its edge).
                SetReceiveSpaceLocked(Math.Clamp(value, 2304 / 2, MaxSetReceiveBuffer / 2) * 2);
            }
        }
    }

    private void SetSendSpaceLocked(int space)
    {
        _sndSpace = space;
        _sndBuf.Limit = TcpBufferSizing.SendPayload(space);
    }

    private void SetReceiveSpaceLocked(int space)
    {
        _rcvSpace = space;
        _rcvBuf.Limit = TcpBufferSizing.WindowFromSpace(space, _scalingRatio);
    }

    /// <summary>Bytes written and not yet acknowledged (SIOCOUTQ).</summary>
    public int QueuedSendBytes
    {
        get
        {
            lock (_stack.Mu)
            {
                return _sndBuf.Count;
            }
        }
    }

    /// <summary>Connections waiting for accept (a listener's rx_queue in /proc/net/tcp).</summary>
    public int AcceptQueueLength
    {
        get
        {
            lock (_stack.Mu)
            {
                return _acceptQueue.Count;
            }
        }
    }

    /// <summary>Bytes waiting to be read (FIONREAD).</summary>
    public int ReadableBytes
    {
        get
        {
            lock (_stack.Mu)
            {
                return _rcvBuf.Readable;
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
        if (_bound || _state != TcpState.Closed || _closed)
        {
            return Errno.EINVAL;
        }
        if (!address.IsUnspecified && !_stack.IsLocalAddressLocked(address))
        {
            return Errno.EADDRNOTAVAIL;
        }
        if (port == 0)
        {
            port = _stack.AllocateEphemeralLocked(p => PortConflictLocked(p, address, ReuseAddress));
            if (port == 0)
            {
                return Errno.EADDRINUSE;
            }
        }
        else if (PortConflictLocked(port, address, ReuseAddress))
        {
            return Errno.EADDRINUSE;
        }
        RegisterPortLocked(address, port);
        return Errno.None;
    }

    private bool PortConflictLocked(ushort port, IpAddress address, bool reuse)
    {
        if (!_stack.TcpPorts.TryGetValue(port, out List<TcpEndpoint>? list))
        {
            return false;
        }
        foreach (TcpEndpoint ep in list)
        {
            if (ep == this)
            {
                continue;
            }
            bool overlap = IpAddress.Overlap(ep._key.LocalAddress, ep.V6Only, address, V6Only);
            if (overlap && ReusePort && ep.ReusePort)
            {
                continue; // SO_REUSEPORT on both: one group (Linux also asks for one owner; the sandbox has one network user)
            }
            if (overlap && !(reuse && ep.ReuseAddress && ep._state != TcpState.Listen))
            {
                return true;
            }
        }
        return false;
    }

    private void RegisterPortLocked(IpAddress address, ushort port)
    {
        if (!_stack.TcpPorts.TryGetValue(port, out List<TcpEndpoint>? list))
        {
            _stack.TcpPorts[port] = list = [];
        }
        list.Add(this);
        _key = new TcpKey(address, port, default, 0);
        _bound = true;
        _ownsPort = true;
    }

    /// <summary>Starts listening with room for <paramref name="backlog"/> connections waiting for Accept.</summary>
    public Errno Listen(int backlog)
    {
        lock (_stack.Mu)
        {
            if (_state == TcpState.Listen)
            {
                _backlog = Math.Clamp(backlog, 0, MaxBacklog);
                return Errno.None;
            }
            if (_state != TcpState.Closed || _closed)
            {
                return Errno.EINVAL;
            }
            if (!_bound)
            {
                Errno err = BindLocked(Wildcard, 0);
                if (err != Errno.None)
                {
                    return err;
                }
            }
            // inet_csk_get_port again: SO_REUSEADDR lets it share the port with bound sockets, never with a listener.
            if (PortConflictLocked(_key.LocalPort, _key.LocalAddress, ReuseAddress))
            {
                return Errno.EADDRINUSE;
            }
            _backlog = Math.Clamp(backlog, 0, MaxBacklog);
            _state = TcpState.Listen;
            return Errno.None;
        }
    }

    /// <summary>Takes an established connection from the accept queue; EAGAIN if none, EINVAL if not listening.</summary>
    public Errno Accept(out TcpEndpoint? connection)
    {
        lock (_stack.Mu)
        {
            connection = null;
            if (_state != TcpState.Listen)
            {
                return Errno.EINVAL;
            }
            if (!_acceptQueue.TryDequeue(out connection))
            {
                return Errno.EAGAIN;
            }
            NotifyLocked();
            return Errno.None;
        }
    }

    /// <summary>
    /// Starts connecting to <paramref name="address"/>:<paramref name="port"/>: EINPROGRESS, then the endpoint
    /// becomes writable (connected) or reports its error (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH) once.
    /// </summary>
    public Errno Connect(IpAddress address, ushort port)
    {
        lock (_stack.Mu)
        {
            switch (_state)
            {
                case TcpState.SynSent:
                case TcpState.SynReceived:
                    return Errno.EALREADY;
                case TcpState.Closed when !_wasEstablished && !_closed:
                    break; // a fresh endpoint, or one whose attempt failed: Linux lets it try again
                default:
                    return Errno.EISCONN; // a listener too: __inet_stream_connect wants TCP_CLOSE
            }
            if (port == 0)
            {
                return Errno.ECONNREFUSED;
            }
            Errno err = _stack.RouteLocked(address, out Route route);
            if (err != Errno.None)
            {
                return err;
            }
            IpAddress local = _bound && !_key.LocalAddress.IsUnspecified ? _key.LocalAddress : route.Source;
            ushort localPort = _key.LocalPort;
            if (!_bound)
            {
                localPort = _stack.AllocateEphemeralLocked(p =>
                    PortConflictLocked(p, local, false) || _stack.TcpConnections.ContainsKey(new TcpKey(local, p, address, port)));
                if (localPort == 0)
                {
                    return Errno.EADDRNOTAVAIL;
                }
                RegisterPortLocked(local, localPort);
            }
            var key = new TcpKey(local, localPort, address, port);
            if (_stack.TcpConnections.ContainsKey(key))
            {
                return Errno.EADDRNOTAVAIL;
            }
            _key = key;
            _route = route;
            _stack.TcpConnections[key] = this;
            _registered = true;
            _everConnected = true;
            _stack.Stats.TcpActiveOpens++;
            InitSendSequenceLocked();
            _rcvShift = WindowShiftFor(MaxReceiveBuffer);
            _state = TcpState.SynSent;
            SendSynLocked();
            _stack.RunLoopbackLocked();
            // A loopback connect may already be done (or refused).
            return Errno.EINPROGRESS;
        }
    }

    /// <summary>TCP_CORK: partial segments wait until it is cleared (which sends them), a FIN, or 200 ms.</summary>
    public bool Cork
    {
        set
        {
            lock (_stack.Mu)
            {
                _cork = value;
                if (!value)
                {
                    _more = false;
                    PushHeldLocked();
                }
            }
        }
    }

    /// <summary>TCP_DEFER_ACCEPT of a listener, in seconds as getsockopt reads it back (0: off).</summary>
    public int DeferAcceptSeconds
    {
        set
        {
            lock (_stack.Mu)
            {
                _deferAcceptNs = Math.Max(value, 0) * 1_000_000_000L;
            }
        }
    }

    /// <summary>Sends the partial segment TCP_CORK or MSG_MORE held back, Nagle notwithstanding (TCP_NAGLE_PUSH).</summary>
    private void PushHeldLocked()
    {
        _pushHeld = true;
        bool noDelay = NoDelay;
        NoDelay = true;
        OutputLocked();
        NoDelay = noDelay;
        _pushHeld = false;
        TimerQueue.Cancel(_corkTimer);
        _stack.RunLoopbackLocked();
    }

    private void OnCorkTimer() => PushHeldLocked();

    /// <summary>What TCP_INFO reports of this endpoint.</summary>
    public TcpInfoSnapshot Info
    {
        get
        {
            lock (_stack.Mu)
            {
                int options = (_tsOn ? 1 : 0) | (_sackOn ? 2 : 0) | (_rcvShift > 0 || _sndShift > 0 ? 4 : 0);
                // tcp_bound_to_half_wnd: the segment size is at most half the largest window the peer offered.
                int sndMss = _maxSndWnd > 536 && _mss > _maxSndWnd / 2 ? (int)Math.Max(_maxSndWnd / 2, 68 - 32) : _mss;
                return new TcpInfoSnapshot(_state, options, _sndShift, _rcvShift, _rto / 1000, (int)(_srtt / 1000), (int)(_rttvar / 1000),
                    sndMss, Math.Min(_rcvMssEstimate, _mss), Math.Min(_route.Nic?.Mtu ?? 0, 65535), _mss, _cwnd, _ssthresh,
                    _bytesSent, _bytesAcked, _bytesReceived);
            }
        }
    }

    /// <summary>Takes and clears the pending error (SO_ERROR).</summary>
    public Errno TakeError()
    {
        lock (_stack.Mu)
        {
            Errno e = _error;
            _error = Errno.None;
            return e;
        }
    }

    /// <summary>Queues bytes for sending: how many fit in the send buffer, or EAGAIN when none does.</summary>
    public Errno Send(ReadOnlySpan<byte> data, out int written, bool more = false)
    {
        lock (_stack.Mu)
        {
            written = 0;
            _more = more;
            if (_error != Errno.None)
            {
                Errno e = _error;
                _error = Errno.None;
                return e;
            }
            if (_shutWrite)
            {
                return Errno.EPIPE;
            }
            switch (_state)
            {
                case TcpState.Established:
                case TcpState.CloseWait:
                    break;
                case TcpState.SynSent:
                case TcpState.SynReceived:
                    return Errno.EAGAIN;
                default:
                    return Errno.EPIPE; // sk_stream_wait_connect: EPIPE outside SYN-SENT/SYN-RECV, connected or not
            }
            if (data.Length == 0)
            {
                return Errno.None;
            }
            written = _sndBuf.Append(data);
            if (written == 0)
            {
                return Errno.EAGAIN;
            }
            OutputLocked();
            _stack.RunLoopbackLocked();
            return Errno.None;
        }
    }

    /// <summary>
    /// Reads received bytes: data first, then a pending error, then 0 at end of stream (the peer's FIN or
    /// SHUT_RD); EAGAIN when nothing is there yet, ENOTCONN when never connected.
    /// </summary>
    public Errno Receive(Span<byte> buffer, out int read, bool peek = false, int peekOffset = 0)
    {
        lock (_stack.Mu)
        {
            read = 0;
            if (_state == TcpState.Listen || (!_everConnected && _state == TcpState.Closed))
            {
                return Errno.ENOTCONN;
            }
            if (_rcvBuf.Readable > (peek ? peekOffset : 0) && buffer.Length > 0)
            {
                read = _rcvBuf.Read(buffer, peek, peekOffset);
                if (!peek)
                {
                    AfterReadLocked(read);
                    _stack.RunLoopbackLocked();
                }
                return Errno.None;
            }
            if (_error != Errno.None)
            {
                Errno e = _error;
                _error = Errno.None;
                return e;
            }
            if (_finReceived || _shutRead || _state == TcpState.Closed || buffer.Length == 0)
            {
                return Errno.None;
            }
            return Errno.EAGAIN;
        }
    }

    /// <summary>shutdown(2): stop reading, writing (a FIN once the queued data is sent) or both.</summary>
    public Errno Shutdown(bool read, bool write)
    {
        lock (_stack.Mu)
        {
            switch (_state)
            {
                case TcpState.Closed when !_everConnected:
                case TcpState.Listen when !read:
                    return Errno.ENOTCONN;
                case TcpState.SynSent:
                    if (write)
                    {
                        CloseLocked(Errno.None, sendReset: false);
                    }
                    break;
            }
            if (read)
            {
                _shutRead = true;
            }
            if (write && !_shutWrite)
            {
                _shutWrite = true;
                QueueFinLocked();
            }
            NotifyLocked();
            _stack.RunLoopbackLocked();
            return Errno.None;
        }
    }

    /// <summary>
    /// close(2): a listener resets the connections waiting in its queues; a connection with unread data is
    /// reset (as Linux does); otherwise it sends its FIN after the queued data and finishes in the background.
    /// </summary>
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
            switch (_state)
            {
                case TcpState.Listen:
                    foreach (TcpEndpoint c in _synQueue)
                    {
                        c._parent = null;
                        c.CloseLocked(Errno.None, sendReset: true);
                    }
                    _synQueue.Clear();
                    while (_acceptQueue.TryDequeue(out TcpEndpoint? c))
                    {
                        c._closed = true;
                        c.CloseLocked(Errno.None, sendReset: true);
                    }
                    CloseLocked(Errno.None, sendReset: false);
                    break;
                case TcpState.Closed:
                case TcpState.SynSent:
                    CloseLocked(Errno.None, sendReset: false);
                    break;
                default:
                    if (_rcvBuf.Readable > 0)
                    {
                        CloseLocked(Errno.None, sendReset: true);
                        break;
                    }
                    _shutRead = true;
                    if (!_shutWrite)
                    {
                        _shutWrite = true;
                        QueueFinLocked();
                    }
                    break;
            }
            _stack.RunLoopbackLocked();
        }
    }

    /// <summary>close(2) with SO_LINGER 0: a RST instead of the orderly close, queued data thrown away.</summary>
    public void Abort()
    {
        lock (_stack.Mu)
        {
            if (_closed || _state == TcpState.Listen)
            {
                return;
            }
            _closed = true;
            _listener = null;
            CloseLocked(Errno.None, sendReset: true);
            _stack.RunLoopbackLocked();
        }
    }

    /// <summary>Readiness, as Linux's tcp_poll computes it.</summary>
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
        if (_state == TcpState.Listen)
        {
            return _acceptQueue.Count > 0 ? Readiness.Readable : 0;
        }
        int ev = 0;
        // tcp_done shuts both directions of a connection that ended (reset, refused, timed out).
        bool rcvShutdown = _finReceived || _shutRead || (_state == TcpState.Closed && _everConnected);
        if ((_shutWrite && rcvShutdown) || _state == TcpState.Closed)
        {
            ev |= Readiness.HangUp;
        }
        if (rcvShutdown)
        {
            ev |= Readiness.Readable | Readiness.ReadHangUp;
        }
        if (_state != TcpState.SynSent && _state != TcpState.SynReceived)
        {
            if (_rcvBuf.Readable > 0)
            {
                ev |= Readiness.Readable;
            }
            // sk_stream_is_writeable: free space at least half of what is queued.
            if (_shutWrite || (_sndBuf.Free > 0 && _sndBuf.Free >= _sndBuf.Count / 2))
            {
                ev |= Readiness.Writable;
            }
        }
        if (_error != Errno.None)
        {
            ev |= Readiness.Error;
        }
        return ev;
    }

    private void NotifyLocked() => _listener?.OnReadinessChanged(EventsLocked());

    /// <summary>
    /// Ends the connection: optionally sends a RST, records <paramref name="error"/> for the application and
    /// leaves the stack's tables. Preconditions: the stack's lock is held.
    /// </summary>
    private void CloseLocked(Errno error, bool sendReset)
    {
        if (sendReset && _state is not (TcpState.Closed or TcpState.Listen or TcpState.SynSent or TcpState.TimeWait))
        {
            SendResetLocked();
        }
        if (error != Errno.None)
        {
            _error = error;
        }
        if (_parent != null)
        {
            _parent._synQueue.Remove(this);
            _parent = null;
        }
        // tcp_set_state and tcp_done: a connection that was up ends abruptly, or one being set up fails.
        if (IsEstablishedLocked)
        {
            _stack.Stats.TcpEstabResets++;
        }
        else if (_state is TcpState.SynSent or TcpState.SynReceived)
        {
            _stack.Stats.TcpAttemptFails++;
        }
        _state = TcpState.Closed;
        TimerQueue.Cancel(_rtxTimer);
        TimerQueue.Cancel(_delackTimer);
        TimerQueue.Cancel(_stateTimer);
        TimerQueue.Cancel(_keepaliveTimer);
        TimerQueue.Cancel(_corkTimer);
        if (_registered)
        {
            _stack.TcpConnections.Remove(_key);
            _registered = false;
        }
        if (_ownsPort && _closed && _stack.TcpPorts.TryGetValue(_key.LocalPort, out List<TcpEndpoint>? list))
        {
            list.Remove(this);
            if (list.Count == 0)
            {
                _stack.TcpPorts.Remove(_key.LocalPort);
            }
            _ownsPort = false;
        }
        NotifyLocked();
    }
}

/// <summary>The fields of struct tcp_info an endpoint knows (times in microseconds, windows in bytes).</summary>
internal readonly record struct TcpInfoSnapshot(TcpState State, int Options, int SndWscale, int RcvWscale, long RtoUs, int RttUs,
    int RttVarUs, int SndMss, int RcvMss, int Pmtu, int AdvMss, long Cwnd, long Ssthresh, long BytesSent, long BytesAcked,
    long BytesReceived);
