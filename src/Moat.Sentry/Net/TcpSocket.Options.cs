using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading;

namespace Moat.Sentry.Net;

/// <summary>
/// What TCP options change on the loopback: TCP_CORK and MSG_MORE hold a partial segment back until it fills,
/// the socket is uncorked, or 200 ms pass (Linux's probe timer sends it then); TCP_DEFER_ACCEPT keeps a
/// connection out of accept until data arrives or its time runs out; TCP_INFO reports the real state and
/// counters, with the constants Linux shows for a loopback connection where there is nothing to measure.
/// </summary>
internal sealed partial class TcpSocket
{
    /// <summary>The MSS of a loopback connection (MTU 65536 less IP, TCP and timestamp headers): corked data leaves in segments this size.</summary>
    public const int LoopbackMss = 65483;

    /// <summary>How long corked or MSG_MORE data waits at most, as Linux's probe timer bounds it.</summary>
    private const int CorkFlushMs = 200;

    /// <summary>The size of struct tcp_info in Linux 6.18, which getsockopt truncates to the caller's length.</summary>
    public const int TcpInfoSize = 280;

    private static readonly TimerCallback s_corkExpired = static o => ((TcpSocket)o!).FlushHeld();
    private static readonly TimerCallback s_deferExpired = static o => ((TcpSocket)o!).DeferExpired();

    // Protected by Mu: bytes at the tail of _rx that the peer wrote corked (or with MSG_MORE) and has not
    // yet "sent"; the reader sees the ring without them.
    private int _held;

    // Protected by Mu: TCP_CORK of this end, and the timer that flushes what it holds in the peer's ring.
    private bool _cork;
    private Timer? _corkTimer;

    // Set while this accepted connection waits for data under its listener's TCP_DEFER_ACCEPT. Written under Mu;
    // the listener reads it under its own lock (sockets' locks are not nested that way), hence volatile.
    private volatile bool _deferred;

    // Protected by Mu: the listener to wake when a deferred connection becomes ready, and its deadline.
    private TcpSocket? _deferListener;
    private Timer? _deferTimer;

    // Immutable once established: whether this end connected (the active opener).
    private bool _active;

    // Counters of TCP_INFO. _bytesReceived is protected by Mu (the writer holds it while it fills the ring);
    // _bytesSent belongs to the writer and is added atomically.
    private long _bytesReceived;
    private long _bytesSent;

    /// <summary>Bytes a reader may take now. Preconditions: Mu is held.</summary>
    private int VisibleLocked => (_rx?.Count ?? 0) - _held;

    /// <summary>The bytes this end holds back corked in its peer's ring (SIOCOUTQ, SIOCOUTQNSD).</summary>
    public override int Unsent
    {
        get
        {
            TcpSocket? peer;
            lock (Mu)
            {
                peer = _state == State.Established ? _peer : null;
            }

            if (peer == null)
            {
                return 0;
            }

            lock (peer.Mu)
            {
                return peer._held;
            }
        }
    }

    /// <summary>TCP_CORK set or cleared: clearing it sends what is held at once.</summary>
    public void SetCork(bool on)
    {
        lock (Mu)
        {
            _cork = on;
        }

        if (!on)
        {
            FlushHeld();
        }
    }

    // Corked bytes go out: the peer sees all of its ring.
    private void FlushHeld()
    {
        TcpSocket? peer;
        lock (Mu)
        {
            peer = _state == State.Established ? _peer : null;
        }

        if (peer == null)
        {
            return;
        }

        bool released;
        lock (peer.Mu)
        {
            released = peer._held > 0;
            peer._held = 0;
        }

        if (released)
        {
            peer.Events.Notify();
        }
    }

    // Arms the flush of bytes this end left held in its peer's ring. Preconditions: Mu is held.
    private void ArmCorkTimerLocked()
    {
        _corkTimer ??= new Timer(s_corkExpired, this, Timeout.Infinite, Timeout.Infinite);
        _corkTimer.Change(CorkFlushMs, Timeout.Infinite);
    }

    /// <summary>Linux keeps TCP_DEFER_ACCEPT as the SYN-ACK retransmissions (1 s, doubling to 120 s) that cover the seconds.</summary>
    public static int SecondsToRetrans(int seconds)
    {
        if (seconds <= 0)
        {
            return 0;
        }

        int res = 1, timeout = 1, period = 1;
        while (seconds > period && res < 255)
        {
            res++;
            timeout = Math.Min(timeout << 1, 120);
            period += timeout;
        }

        return res;
    }

    /// <summary>The seconds TCP_DEFER_ACCEPT reads back: the whole time its retransmissions span.</summary>
    public static int RetransToSeconds(int retrans)
    {
        if (retrans <= 0)
        {
            return 0;
        }

        int timeout = 1, period = 1;
        while (--retrans > 0)
        {
            timeout = Math.Min(timeout << 1, 120);
            period += timeout;
        }

        return period;
    }

    // Under TCP_DEFER_ACCEPT a new connection waits for data before accept sees it. Preconditions: this
    // listener's Mu is held; the child is not yet shared.
    private void DeferLocked(TcpSocket child)
    {
        int seconds = RetransToSeconds(Options.GetValueOrDefault((IPPROTO_TCP << 16) | 9));
        if (seconds == 0)
        {
            return;
        }

        child._deferred = true;
        child._deferListener = this;
        child._deferTimer = new Timer(s_deferExpired, child, seconds * 1000L, Timeout.Infinite);
    }

    // The connection is ready for accept: returns the listener to wake. Preconditions: Mu is held.
    private TcpSocket? UndeferLocked()
    {
        if (!_deferred)
        {
            return null;
        }

        _deferred = false;
        TcpSocket? listener = _deferListener;
        _deferListener = null;
        _deferTimer?.Dispose();
        _deferTimer = null;
        return listener;
    }

    private void DeferExpired()
    {
        TcpSocket? listener;
        lock (Mu)
        {
            listener = UndeferLocked();
        }

        listener?.Events.Notify();
    }

    // The first connection accept may take, or -1. Preconditions: Mu (of the listener) is held.
    private int FirstReadyLocked()
    {
        for (int i = 0; i < _acceptQueue.Count; i++)
        {
            if (!_acceptQueue[i]._deferred)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Fills struct tcp_info (<see cref="TcpInfoSize"/> bytes): the state, counters of bytes, and for a
    /// connection the values Linux shows on loopback (timestamps, SACK and window scaling on, MSS, MTU, initial
    /// window and an RTO at its 200 ms floor). The round-trip time is a copy between two buffers here, so it
    /// is reported as the few microseconds Linux measures on loopback.
    /// </summary>
    public void FillInfo(Span<byte> v)
    {
        v[..TcpInfoSize].Clear();
        lock (Mu)
        {
            v[0] = (byte)ProcStateLocked();
            if (_state == State.Listen)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(v[80..], 10); // snd_cwnd
                return;
            }

            if (_state != State.Established)
            {
                return;
            }

            bool v4 = Local.IsV4;
            v[5] = 1 | 2 | 4; // TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE
            v[6] = 10 | (10 << 4); // snd_wscale, rcv_wscale
            BinaryPrimitives.WriteUInt32LittleEndian(v[8..], 200000); // rto (µs)
            BinaryPrimitives.WriteUInt32LittleEndian(v[12..], 40000); // ato
            BinaryPrimitives.WriteUInt32LittleEndian(v[16..], 32768); // snd_mss
            BinaryPrimitives.WriteUInt32LittleEndian(v[20..], 536); // rcv_mss
            BinaryPrimitives.WriteUInt32LittleEndian(v[60..], 65535); // pmtu
            BinaryPrimitives.WriteUInt32LittleEndian(v[64..], 65483); // rcv_ssthresh
            BinaryPrimitives.WriteUInt32LittleEndian(v[68..], 10); // rtt
            BinaryPrimitives.WriteUInt32LittleEndian(v[72..], 5); // rttvar
            BinaryPrimitives.WriteUInt32LittleEndian(v[76..], int.MaxValue); // snd_ssthresh: still in slow start
            BinaryPrimitives.WriteUInt32LittleEndian(v[80..], 10); // snd_cwnd
            BinaryPrimitives.WriteUInt32LittleEndian(v[84..], v4 ? 65483u : 65464u); // advmss
            BinaryPrimitives.WriteUInt32LittleEndian(v[88..], 3); // reordering
            BinaryPrimitives.WriteUInt32LittleEndian(v[96..], 65483); // rcv_space
            BinaryPrimitives.WriteUInt64LittleEndian(v[112..], ulong.MaxValue); // max_pacing_rate: unlimited
            long sent = Interlocked.Read(ref _bytesSent);

            // The active opener's SYN is counted among the acknowledged bytes, as Linux counts it.
            BinaryPrimitives.WriteInt64LittleEndian(v[120..], sent + (_active ? 1 : 0)); // bytes_acked
            BinaryPrimitives.WriteInt64LittleEndian(v[128..], _bytesReceived); // bytes_received
            BinaryPrimitives.WriteUInt32LittleEndian(v[148..], 10); // min_rtt
            BinaryPrimitives.WriteInt64LittleEndian(v[200..], sent); // bytes_sent
        }
    }
}
