using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs;
using Ready = Moat.Sentry.Net.Stack.Readiness;

namespace Moat.Sentry.Net;

/// <summary>
/// An AF_INET or AF_INET6 TCP socket over the Sentry's netstack (a TcpEndpoint of the SandboxNetwork). The endpoint never
/// blocks: where Linux sleeps it answers EAGAIN (EINPROGRESS for connect) and this socket waits on its
/// WaitQueue, which the endpoint's readiness listener wakes (called under the stack's lock; the WaitQueue's
/// lock is a leaf). Bytes move straight between the application's memory and the endpoint's rings (StackCopy.cs).
/// </summary>
internal sealed class StackTcpSocket : InetSocket, IReadinessListener
{
    private const int SOL_SOCKET = 1;
    private const int SO_KEEPALIVE = 9;
    private const int TCP_NODELAY = 1;
    private const int TCP_KEEPIDLE = 4;
    private const int TCP_KEEPINTVL = 5;
    private const int TCP_KEEPCNT = 6;
    private const int TCP_CORK = 3;
    private const int TCP_DEFER_ACCEPT = 9;

    /// <summary>The size of struct tcp_info in Linux 6.18, which getsockopt truncates to the caller's length.</summary>
    public const int TcpInfoSize = 280;

    private readonly TcpEndpoint _ep;
    private readonly SandboxNetwork _net;

    // A connect answered EINPROGRESS (or was interrupted): the next connect reports how it ended. Protected by Mu.
    private bool _connecting;

    // A connect reported its failure: Linux disconnects the socket (tcp_disconnect), so reads say ENOTCONN
    // as on a fresh socket. Protected by Mu.
    private bool _failedConnect;

    // Cached wait conditions, so that blocking allocates nothing.
    private readonly Func<bool> _canRead;
    private readonly Func<bool> _canWrite;
    private readonly Func<bool> _connectDone;

    public StackTcpSocket(SandboxNetwork net, TcpEndpoint ep, int flags, uint uid)
        : base(ep.IsV6 ? InetAddr.AF_INET6 : InetAddr.AF_INET, SOCK_STREAM, flags, uid)
    {
        _ep = ep;
        _net = net;
        net.Register(this);
        _canRead = () => (_ep.Events & (Ready.Readable | Ready.Error | Ready.HangUp)) != 0;
        _canWrite = () => (_ep.Events & (Ready.Writable | Ready.Error | Ready.HangUp)) != 0;
        _connectDone = () => _ep.State is not (TcpState.SynSent or TcpState.SynReceived);
        ep.Listener = this;
    }

    public void OnReadinessChanged(int events) => Events.Notify();

    public override bool IsListeningSocket => _ep.State == TcpState.Listen;

    public override bool IsConnectedSocket => _ep.State is not (TcpState.Closed or TcpState.Listen or TcpState.SynSent);

    public override bool IsBound => _ep.Key.LocalPort != 0;

    /// <summary>Payload bytes per segment (TCP_MAXSEG of a connected socket).</summary>
    public int Mss => _ep.Mss;

    public override int SendBuffer
    {
        get => _ep.SendBufferSize;
        set => _ep.SendBufferSize = value / 2; // the syscall layer already doubled it; the endpoint doubles what it holds
    }

    public override int ReceiveBuffer
    {
        get => _ep.ReceiveBufferSize;
        set => _ep.ReceiveBufferSize = value / 2;
    }

    public override int TakeError() => _ep.TakeError().Value;

    public override void OptionChanged(int level, int name, int value)
    {
        switch ((level, name))
        {
            case (SOL_SOCKET, SO_KEEPALIVE):
                _ep.KeepAlive = value != 0;
                break;
            case (IPPROTO_TCP, TCP_NODELAY):
                _ep.NoDelay = value != 0;
                break;
            case (IPPROTO_TCP, TCP_KEEPIDLE):
                _ep.KeepIdleNs = value * 1_000_000_000L;
                break;
            case (IPPROTO_TCP, TCP_KEEPINTVL):
                _ep.KeepIntervalNs = value * 1_000_000_000L;
                break;
            case (IPPROTO_TCP, TCP_KEEPCNT):
                _ep.KeepCount = value;
                break;
            case (IPPROTO_TCP, TCP_CORK):
                _ep.Cork = value != 0;
                break;
            case (IPPROTO_TCP, TCP_DEFER_ACCEPT):
                // Stored as Linux keeps it (SYN-ACK retransmissions); the endpoint waits the seconds they cover.
                _ep.DeferAcceptSeconds = TcpDeferAccept.RetransToSeconds(value);
                break;
        }
    }

    public override long GetName(bool peer, out InetAddr a)
    {
        TcpKey k = _ep.Key;
        if (peer)
        {
            a = new InetAddr(k.RemoteAddress.Value, k.RemotePort);
            return IsConnectedSocket ? 0 : -Errno.ENOTCONN.Value;
        }

        a = new InetAddr(k.LocalAddress.Value, k.LocalPort);
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

    public override long Listen(int backlog)
    {
        _ep.ReuseAddress = ReuseAddr;
        _ep.ReusePort = ReusePort;
        _ep.V6Only = V6Only;
        return -_ep.Listen(backlog).Value;
    }

    public override long Connect(Task t, InetAddr dst)
    {
        if (Family == InetAddr.AF_INET6 && dst.IsV4 && V6Only)
        {
            return -Errno.ENETUNREACH.Value;
        }

        lock (Mu)
        {
            if (_connecting)
            {
                // __inet_stream_connect's SS_CONNECTING: still going, or done (0 once), or failed (its error).
                switch (_ep.State)
                {
                    case TcpState.SynSent or TcpState.SynReceived:
                        return -Errno.EALREADY.Value;
                    case TcpState.Closed:
                        _connecting = false;
                        _failedConnect = true;
                        int e = _ep.TakeError().Value;
                        return e != 0 ? -e : -Errno.ECONNABORTED.Value;
                    default:
                        _connecting = false;
                        return 0;
                }
            }
        }

        _ep.V6Only = V6Only;
        Errno err = _ep.Connect(StackAddress.Remote(dst), dst.Port);
        if (err != Errno.EINPROGRESS)
        {
            return -err.Value;
        }

        // A loopback connect may be done already; Linux answers EINPROGRESS all the same.
        if (NonBlocking)
        {
            lock (Mu)
            {
                _connecting = true;
            }

            return -Errno.EINPROGRESS.Value;
        }

        long r = new SocketDeadline(SendTimeoutUs).Wait(t, Events, _connectDone);
        if (r < 0)
        {
            lock (Mu)
            {
                _connecting = true;
            }

            return r == -Errno.EAGAIN.Value ? -Errno.EINPROGRESS.Value : r;
        }

        if (_ep.State == TcpState.Closed)
        {
            lock (Mu)
            {
                _failedConnect = true;
            }

            int e = _ep.TakeError().Value;
            return e != 0 ? -e : -Errno.ECONNREFUSED.Value;
        }

        return 0;
    }

    public override long Accept(Task t, out InetSocket? conn)
    {
        conn = null;
        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        while (true)
        {
            Errno err = _ep.Accept(out TcpEndpoint? c);
            if (err == Errno.None)
            {
                var s = new StackTcpSocket(_net, c!, 0, Uid)
                {
                    // Linux's accepted socket is a clone of the listener's: its options come along.
                    ReceiveTimeoutUs = ReceiveTimeoutUs,
                    SendTimeoutUs = SendTimeoutUs,
                    V6Only = V6Only,
                };
                c!.NoDelay = _ep.NoDelay;
                c.KeepAlive = _ep.KeepAlive;
                conn = s;
                return 0;
            }

            if (err != Errno.EAGAIN)
            {
                return -err.Value;
            }

            if (NonBlocking)
            {
                return -Errno.EAGAIN.Value;
            }

            long r = deadline.Wait(t, Events, _canRead);
            if (r < 0)
            {
                return r;
            }
        }
    }

    public override long Shutdown(int how)
    {
        if (how is < 0 or > 2)
        {
            return -Errno.EINVAL.Value;
        }

        return -_ep.Shutdown(how != 1, how != 0).Value;
    }

    public override long Send(Task t, in IoSequence src, int flags, InetAddr? dst)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        ulong total = src.Total;
        ulong sent = 0;
        var deadline = new SocketDeadline(SendTimeoutUs);
        while (true)
        {
            Errno err;
            if (total == 0)
            {
                err = _ep.Send(ReadOnlySpan<byte>.Empty, out _);
            }
            else
            {
                var writer = new TcpSendWriter(_ep, (flags & MSG_MORE) != 0);
                long n = src.CopyInTo(t.MM, sent, ref writer);
                if (n < 0)
                {
                    return sent > 0 ? (long)sent : n;
                }

                sent += (ulong)n;
                err = writer.Error;
                if (sent == total)
                {
                    return (long)sent;
                }

                if (n > 0 && err == Errno.None)
                {
                    continue;
                }
            }

            if (err == Errno.None)
            {
                return (long)sent;
            }

            if (err != Errno.EAGAIN)
            {
                if (sent > 0)
                {
                    return (long)sent;
                }

                return err == Errno.EPIPE ? PipeError(t, flags) : -err.Value;
            }

            if (IsNonBlocking(flags))
            {
                return sent > 0 ? (long)sent : -Errno.EAGAIN.Value;
            }

            long r = deadline.Wait(t, Events, _canWrite);
            if (r < 0)
            {
                return sent > 0 ? (long)sent : r;
            }
        }
    }

    public override long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags)
    {
        msgFlags = 0;
        GetName(true, out from);
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        lock (Mu)
        {
            if (_failedConnect && _ep.State == TcpState.Closed)
            {
                return -Errno.ENOTCONN.Value;
            }
        }

        ulong total = dst.Total;
        bool peek = (flags & MSG_PEEK) != 0;
        ulong target = (flags & MSG_WAITALL) != 0 && !peek && total > 0 ? total : 1;
        ulong copied = 0;
        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        while (true)
        {
            Errno err;
            long n;
            if (total == 0)
            {
                err = _ep.Receive(Span<byte>.Empty, out _);
                n = 0;
            }
            else if ((flags & MSG_TRUNC) != 0 && !peek)
            {
                // Linux's MSG_TRUNC on a stream drops the bytes without copying them.
                n = Discard(total - copied, out err);
            }
            else
            {
                var reader = new TcpReceiveReader(_ep, peek);
                n = dst.CopyOutFrom(t.MM, copied, ref reader);
                err = reader.Error;
                if (n < 0)
                {
                    return copied > 0 ? (long)copied : n;
                }
            }

            copied += (ulong)n;
            if (copied >= target || peek && copied > 0 || total == 0)
            {
                return total == 0 && err != Errno.None && err != Errno.EAGAIN ? -err.Value : (long)copied;
            }

            if (n > 0)
            {
                continue;
            }

            if (err == Errno.None)
            {
                return (long)copied; // end of stream
            }

            if (err != Errno.EAGAIN)
            {
                return copied > 0 ? (long)copied : -err.Value;
            }

            if (IsNonBlocking(flags))
            {
                return copied > 0 ? (long)copied : -Errno.EAGAIN.Value;
            }

            long r = deadline.Wait(t, Events, _canRead);
            if (r < 0)
            {
                return copied > 0 ? (long)copied : r;
            }
        }
    }

    private long Discard(ulong max, out Errno err)
    {
        Span<byte> scratch = stackalloc byte[2048];
        long done = 0;
        err = Errno.None;
        while ((ulong)done < max)
        {
            err = _ep.Receive(scratch[..(int)Math.Min((ulong)scratch.Length, max - (ulong)done)], out int n);
            done += n;
            if (n == 0)
            {
                break;
            }
        }

        return done;
    }

    public override int Available => _ep.ReadableBytes;

    public override int Unsent => _ep.QueuedSendBytes;

    public override int Readiness(int events) => _ep.Events & (events | PollEvents.POLLHUP | PollEvents.POLLERR);

    /// <summary>
    /// TCP_INFO from the endpoint: state, negotiated options and window scales, RTO and RTT, segment sizes
    /// (snd_mss bounded by half the peer's largest window and rcv_mss estimated from what arrived, as Linux's),
    /// congestion window and threshold in segments, and byte counters. A listener shows the initial window.
    /// </summary>
    public void FillInfo(Span<byte> v)
    {
        v[..TcpInfoSize].Clear();
        TcpInfoSnapshot i = _ep.Info;
        v[0] = (byte)i.State;
        if (i.State == TcpState.Listen)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(v[80..], 10); // snd_cwnd: TCP_INIT_CWND
            return;
        }

        if (i.State == TcpState.Closed)
        {
            return;
        }

        int mss = i.AdvMss;
        v[5] = (byte)i.Options; // TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE
        v[6] = (byte)(i.SndWscale | (i.RcvWscale << 4));
        BinaryPrimitives.WriteUInt32LittleEndian(v[8..], (uint)i.RtoUs); // rto
        BinaryPrimitives.WriteUInt32LittleEndian(v[12..], 40000); // ato: the delayed-ACK timeout
        BinaryPrimitives.WriteUInt32LittleEndian(v[16..], (uint)i.SndMss); // snd_mss
        BinaryPrimitives.WriteUInt32LittleEndian(v[20..], (uint)i.RcvMss); // rcv_mss
        BinaryPrimitives.WriteUInt32LittleEndian(v[60..], (uint)i.Pmtu); // pmtu
        BinaryPrimitives.WriteUInt32LittleEndian(v[68..], (uint)Math.Max(i.RttUs, 1)); // rtt
        BinaryPrimitives.WriteUInt32LittleEndian(v[72..], (uint)i.RttVarUs); // rttvar
        BinaryPrimitives.WriteUInt32LittleEndian(v[76..], i.Ssthresh >= int.MaxValue || mss == 0 ? int.MaxValue : (uint)(i.Ssthresh / mss)); // snd_ssthresh
        BinaryPrimitives.WriteUInt32LittleEndian(v[80..], mss == 0 ? 0 : (uint)(i.Cwnd / mss)); // snd_cwnd (segments)
        BinaryPrimitives.WriteUInt32LittleEndian(v[84..], (uint)mss); // advmss
        BinaryPrimitives.WriteInt64LittleEndian(v[120..], i.BytesAcked); // bytes_acked
        BinaryPrimitives.WriteInt64LittleEndian(v[128..], i.BytesReceived); // bytes_received
        BinaryPrimitives.WriteInt64LittleEndian(v[200..], i.BytesSent); // bytes_sent
    }

    /// <summary>/proc/net/tcp's state (Linux's numbers), tx_queue and rx_queue (a listener's accept queue).</summary>
    public (int State, int Tx, int Rx) ProcRow
    {
        get
        {
            TcpState state = _ep.State;
            return state == TcpState.Listen ? ((int)state, 0, _ep.AcceptQueueLength) : ((int)state, _ep.QueuedSendBytes, _ep.ReadableBytes);
        }
    }

    protected override void Release()
    {
        _net.Unregister(this);
        _ep.Listener = null;
        if (LingerOn && LingerSeconds == 0)
        {
            _ep.Abort();
        }

        _ep.Close();
        Events.Notify();
    }
}
