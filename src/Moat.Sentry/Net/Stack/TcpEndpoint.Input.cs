using System;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>The receiving half: RFC 793's "segment arrives" in order (sequence, RST, SYN, ACK, data, FIN).</summary>
internal sealed partial class TcpEndpoint
{
    private const int SynAckRetries = 5; // tcp_synack_retries

    // Receive sequence variables, protected by the stack's lock.
    private uint _irs;
    private uint _rcvNxt;
    private uint _rcvAdvEdge; // the right edge of the window we advertised last
    private int _rcvShift;
    private bool _wsOn;
    private bool _finReceived;
    private bool _oooFin;
    private uint _oooFinSeq;
    private int _segsSinceAck;

    // Linux's quick-ACK mode: the first data of a connection is acknowledged at once, up to this many
    // segments (tcp_incr_quickack at the first data segment), before delayed ACKs start.
    private int _quickAcks;
    private bool _receivedData;

    /// <summary>Adopts the options of the peer's SYN (RFC 7323, RFC 2018) and its MSS.</summary>
    private void NegotiateLocked(in TcpSegment s)
    {
        _mss = Math.Min(s.Mss > 0 ? s.Mss : DefaultMss, OurMss);
        _wsOn = s.WindowScale >= 0; // on only when both sides sent the option (we always offer it)
        if (_wsOn)
        {
            _sndShift = s.WindowScale;
        }
        else
        {
            _sndShift = 0;
            _rcvShift = 0;
        }
        _sackOn = s.SackPermitted;
        _tsOn = s.HasTimestamp;
        if (_tsOn)
        {
            _tsRecent = s.TsVal;
            _mss -= TimestampOptionLength;
        }
        _rcvAdvEdge = _rcvNxt;
    }

    private void EnterEstablishedLocked()
    {
        _state = TcpState.Established;
        _wasEstablished = true;
        _cwnd = (long)InitialCwndSegments * _mss;
        _retries = 0;
        _backoff = 0;
        TimerQueue.Cancel(_rtxTimer);
        ExpandSendBufferLocked();
        if (_keepAlive)
        {
            ArmKeepaliveLocked();
        }
    }

    /// <summary>A SYN for a listener: a new connection in SYN-RECEIVED, in the SYN queue, answered with SYN-ACK.</summary>
    internal void HandleListenSegmentLocked(in TcpSegment s, IpAddress remote, IpAddress local)
    {
        if (s.Has(TcpFlags.Rst))
        {
            return;
        }
        if (s.Has(TcpFlags.Ack))
        {
            _stack.SendResetForLocked(remote, local, s);
            return;
        }
        if (!s.Has(TcpFlags.Syn))
        {
            return;
        }
        // Linux drops a SYN while the accept queue is full, and (without SYN cookies, which this stack has not)
        // while the SYN queue holds a backlog's worth of half-open connections.
        if (_acceptQueue.Count > _backlog || _synQueue.Count >= Math.Max(_backlog, 1))
        {
            return;
        }
        if (_stack.RouteLocked(remote, out Route route) != Errno.None)
        {
            return;
        }
        var c = new TcpEndpoint(_stack, IsV6)
        {
            V6Only = V6Only,
            NoDelay = NoDelay,
            _keepAlive = _keepAlive,
            KeepIdleNs = KeepIdleNs,
            KeepIntervalNs = KeepIntervalNs,
            KeepCount = KeepCount,
        };
        c._key = new TcpKey(local, _key.LocalPort, remote, s.SourcePort);
        c._route = route;
        c._everConnected = true;
        c._parent = this;
        c._rcvBufLocked = _rcvBufLocked;
        c.SetReceiveSpaceLocked(_rcvSpace);
        c._sndBufLocked = _sndBufLocked;
        c.SetSendSpaceLocked(_sndSpace);
        _stack.TcpConnections[c._key] = c;
        c._registered = true;
        _synQueue.Add(c);
        c.InitSendSequenceLocked();
        c._irs = s.Seq;
        c._rcvNxt = s.Seq + 1;
        c._state = TcpState.SynReceived;
        c._synReceivedNs = _stack.NowNs;
        c._rcvShift = s.WindowScale >= 0 ? WindowShiftFor(MaxReceiveBuffer) : 0;
        c.NegotiateLocked(s);
        c._sndWnd = s.Window;
        c._sndWl1 = s.Seq;
        c._sndWl2 = c._iss;
        c.SendSynLocked();
        _stack.Stats.TcpPassiveOpens++;
    }

    /// <summary>
    /// A segment for this connection; its payload is <paramref name="data"/>, or (a looped segment) still in the
    /// send queue of <paramref name="dataFrom"/>, whose bytes are then only lengths here. Preconditions: the
    /// stack's lock is held.
    /// </summary>
    internal void HandleSegmentLocked(in TcpSegment s, ReadOnlySpan<byte> data, TcpEndpoint? dataFrom = null)
    {
        _lastRecvNs = _stack.NowNs;
        _keepaliveProbes = 0;
        if (_state == TcpState.SynSent)
        {
            HandleSynSentLocked(s);
        }
        else if (_state != TcpState.Closed && _state != TcpState.Listen)
        {
            HandleSynchronizedLocked(s, data, dataFrom);
        }
        NotifyLocked();
    }

    private void HandleSynSentLocked(in TcpSegment s)
    {
        bool ackOk = false;
        if (s.Has(TcpFlags.Ack))
        {
            if (Seq.Leq(s.Ack, _iss) || Seq.Gt(s.Ack, _sndMax))
            {
                if (!s.Has(TcpFlags.Rst))
                {
                    _stack.SendResetForLocked(_key.RemoteAddress, _key.LocalAddress, s);
                }
                return;
            }
            ackOk = true;
        }
        if (s.Has(TcpFlags.Rst))
        {
            if (ackOk)
            {
                CloseLocked(Errno.ECONNREFUSED, sendReset: false);
            }
            return;
        }
        if (!s.Has(TcpFlags.Syn))
        {
            return;
        }
        _irs = s.Seq;
        _rcvNxt = s.Seq + 1;
        NegotiateLocked(s);
        // The window of a SYN is never scaled (RFC 7323 2.2).
        _sndWnd = s.Window;
        _maxSndWnd = s.Window;
        _sndWl1 = s.Seq;
        _sndWl2 = s.Ack;
        if (ackOk)
        {
            _sndUna = s.Ack;
            if (_retries == 0)
            {
                RttSampleLocked(_stack.NowNs - _synSentNs);
            }
            EnterEstablishedLocked();
            SendAckLocked();
            OutputLocked();
            return;
        }
        // Simultaneous open (RFC 793 figure 8): answer with SYN-ACK from the same ISS.
        _state = TcpState.SynReceived;
        SendSegmentLocked(_iss, TcpFlags.Syn | TcpFlags.Ack, 0, 0);
    }

    private void HandleSynchronizedLocked(in TcpSegment s, ReadOnlySpan<byte> data, TcpEndpoint? dataFrom)
    {
        if (_state == TcpState.SynReceived && s.Has(TcpFlags.Syn) && !s.Has(TcpFlags.Ack) && s.Seq == _irs)
        {
            SendSegmentLocked(_iss, TcpFlags.Syn | TcpFlags.Ack, 0, 0); // our SYN-ACK was lost
            return;
        }
        // 1. Is the segment in the window? (RFC 793 p. 69, PAWS of RFC 7323 5.)
        long wnd = Math.Max((long)(int)(_rcvAdvEdge - _rcvNxt), 0);
        int len = s.SegmentLength;
        bool acceptable = len == 0
            ? (wnd == 0 ? s.Seq == _rcvNxt : Seq.InRange(s.Seq, _rcvNxt, _rcvNxt + (uint)wnd))
            : wnd > 0 && (Seq.InRange(s.Seq, _rcvNxt, _rcvNxt + (uint)wnd)
                || Seq.InRange(s.Seq + (uint)len - 1, _rcvNxt, _rcvNxt + (uint)wnd));
        if (acceptable && _tsOn && s.HasTimestamp && !s.Has(TcpFlags.Rst) && Seq.Lt(s.TsVal, _tsRecent))
        {
            acceptable = false;
        }
        bool windowProbe = false;
        if (!acceptable)
        {
            if (s.Has(TcpFlags.Rst))
            {
                return;
            }
            // A zero-window probe still carries a valid ACK: take it, answer with our (closed) window.
            windowProbe = wnd == 0 && s.Seq == _rcvNxt && s.Has(TcpFlags.Ack);
            if (!windowProbe)
            {
                if (_state == TcpState.TimeWait && s.Has(TcpFlags.Fin))
                {
                    _stack.Timers.Arm(_stateTimer, _stack.NowNs + TimeWaitNs);
                }
                SendAckLocked();
                return;
            }
        }
        if (_tsOn && s.HasTimestamp && Seq.Leq(s.Seq, _rcvNxt))
        {
            _tsRecent = s.TsVal;
        }
        // 2. RST: exactly at RCV.NXT it resets; elsewhere in the window it gets a challenge ACK (RFC 5961 3).
        if (s.Has(TcpFlags.Rst))
        {
            if (s.Seq != _rcvNxt)
            {
                SendAckLocked();
                return;
            }
            Errno err = _state switch
            {
                TcpState.SynReceived => _parent != null ? Errno.None : Errno.ECONNREFUSED,
                TcpState.CloseWait => Errno.EPIPE,
                TcpState.Closing or TcpState.LastAck or TcpState.TimeWait => Errno.None,
                _ => Errno.ECONNRESET,
            };
            // Data already queued stays readable before the error, as in Linux (tcp_reset purges only the write
            // queue); a RST in TIME-WAIT ends the connection without an error.
            CloseLocked(err, sendReset: false);
            return;
        }
        // 3. A SYN in a synchronized state: challenge ACK (RFC 5961 4).
        if (s.Has(TcpFlags.Syn))
        {
            SendAckLocked();
            return;
        }
        // 4. ACK.
        if (!s.Has(TcpFlags.Ack))
        {
            return;
        }
        if (_state == TcpState.SynReceived)
        {
            if (!Seq.InRange(s.Ack, _sndUna + 1, _sndMax + 1))
            {
                _stack.SendResetForLocked(_key.RemoteAddress, _key.LocalAddress, s);
                return;
            }
            if (_parent != null && _parent._acceptQueue.Count > _parent._backlog)
            {
                return; // accept queue full: Linux drops the ACK and lets the SYN-ACK be retransmitted
            }
            if (_parent != null && _parent._deferAcceptNs > 0 && data.Length == 0 && !s.Has(TcpFlags.Fin)
                && _stack.NowNs - _synReceivedNs < _parent._deferAcceptNs)
            {
                return; // TCP_DEFER_ACCEPT: a bare ACK waits for data (tcp_check_req); the SYN-ACK is resent meanwhile
            }
            _sndUna = _iss + 1;
            _sndWnd = (long)s.Window << _sndShift;
            _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);
            _sndWl1 = s.Seq;
            _sndWl2 = s.Ack;
            if (_retries == 0)
            {
                RttSampleLocked(_stack.NowNs - _synSentNs);
            }
            EnterEstablishedLocked();
            if (_parent != null)
            {
                TcpEndpoint parent = _parent;
                parent._synQueue.Remove(this);
                parent._acceptQueue.Enqueue(this);
                _parent = null;
                parent.NotifyLocked();
            }
        }
        if (Seq.Gt(s.Ack, _sndMax))
        {
            SendAckLocked(); // acknowledges data never sent
            return;
        }
        if (Seq.Geq(s.Ack, _sndUna))
        {
            bool windowChanged = false;
            if (Seq.Lt(_sndWl1, s.Seq) || (_sndWl1 == s.Seq && Seq.Leq(_sndWl2, s.Ack)))
            {
                long w = (long)s.Window << _sndShift;
                windowChanged = w != _sndWnd;
                _sndWnd = w;
                _maxSndWnd = Math.Max(_maxSndWnd, w);
                _sndWl1 = s.Seq;
                _sndWl2 = s.Ack;
            }
            long acked = (long)(s.Ack - _sndUna);
            UpdateScoreboardLocked(s, s.Ack);
            if (_sndWnd == 0)
            {
                _retries = 0; // a peer answering probes is alive, however long its window stays closed (as Linux)
            }
            if (acked > 0)
            {
                AckAdvancedLocked(s, acked);
            }
            else if (len == 0 && !windowChanged && _sndUna != _sndMax)
            {
                OnDuplicateAckLocked();
            }
        }
        bool finAcked = _finQueued && s.Ack == DataEnd + 1 && Seq.Geq(_sndUna, DataEnd + 1);
        switch (_state)
        {
            case TcpState.FinWait1 when finAcked:
                _state = TcpState.FinWait2;
                if (_closed)
                {
                    _stack.Timers.Arm(_stateTimer, _stack.NowNs + FinTimeoutNs);
                }
                break;
            case TcpState.Closing when finAcked:
                EnterTimeWaitLocked();
                break;
            case TcpState.LastAck when finAcked:
                CloseLocked(Errno.None, sendReset: false);
                return;
        }
        // 5. Data.
        if (s.DataLength > 0 && _state is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            if (_closed)
            {
                CloseLocked(Errno.None, sendReset: true); // data for a socket nobody will read: Linux resets
                return;
            }
            ReceiveDataLocked(s, data, dataFrom);
        }
        else if (windowProbe)
        {
            SendAckLocked();
        }
        // 6. FIN.
        if (s.Has(TcpFlags.Fin) && !_finReceived)
        {
            uint finSeq = s.Seq + (uint)s.DataLength;
            if (finSeq == _rcvNxt)
            {
                ReceiveFinLocked();
            }
            else if (Seq.Gt(finSeq, _rcvNxt))
            {
                _oooFin = true;
                _oooFinSeq = finSeq;
            }
        }
        OutputLocked();
    }

    private void AckAdvancedLocked(in TcpSegment s, long acked)
    {
        _bytesAcked += acked;
        uint end = DataEnd;
        uint dataAckedTo = Seq.Lt(s.Ack, end) ? s.Ack : end;
        if (Seq.Gt(dataAckedTo, _sndBufSeq))
        {
            int n = (int)(dataAckedTo - _sndBufSeq);
            _sndBuf.Consume(n);
            _sndBufSeq += (uint)n;
        }
        _sndUna = s.Ack;
        if (Seq.Lt(_sndNxt, _sndUna))
        {
            _sndNxt = _sndUna;
        }
        if (_tsOn && s.HasTimestamp && s.TsEcr != 0)
        {
            RttSampleLocked((long)(TsNow - s.TsEcr) * 1_000_000);
        }
        else if (_rttTiming && Seq.Gt(s.Ack, _rttSeq))
        {
            RttSampleLocked(_stack.NowNs - _rttStartNs);
            _rttTiming = false;
        }
        _backoff = 0;
        _retries = 0;
        OnAckAdvancedLocked(acked);
        if (_sndUna == _sndMax)
        {
            TimerQueue.Cancel(_rtxTimer);
        }
        else
        {
            _stack.Timers.Arm(_rtxTimer, _stack.NowNs + CurrentRtoNs);
        }
    }

    private void ReceiveDataLocked(in TcpSegment s, ReadOnlySpan<byte> data, TcpEndpoint? dataFrom)
    {
        uint seq = s.Seq;
        int off = 0;
        if (Seq.Lt(seq, _rcvNxt))
        {
            off = (int)(_rcvNxt - seq);
            seq = _rcvNxt;
        }
        int n = data.Length - off;
        int limit = (int)(_rcvAdvEdge - seq);
        n = Math.Min(n, Math.Max(limit, 0));
        if (n <= 0)
        {
            SendAckLocked();
            return;
        }
        bool inOrder = seq == _rcvNxt;
        bool hadHoles = _rcvBuf.OutOfOrder.Count > 0;
        uint before = _rcvNxt;
        if (dataFrom == null)
        {
            _rcvNxt = _rcvBuf.Write(_rcvNxt, seq, data.Slice(off, n));
        }
        else if (!dataFrom.CopyQueuedLocked(seq, n, _rcvBuf, ref _rcvNxt))
        {
            return;
        }
        _bytesReceived += _rcvNxt - before;
        // A coalesced segment counts as the segments it stands for (Linux's GRO: rcv_mss from gso_size, and one
        // skb's overhead per segment in the scaling ratio, as the truesize of a GRO skb sums its fragments').
        int segSize = s.GsoSize > 0 ? Math.Min(s.GsoSize, data.Length) : data.Length;
        int segs = s.GsoSize > 0 ? (data.Length + s.GsoSize - 1) / s.GsoSize : 1;
        if (segSize >= _rcvMssEstimate)
        {
            _rcvMssEstimate = Math.Min(segSize, _mss); // tcp_measure_rcv_mss: a segment as large as the estimate raises it
            // and measures what share of the buffer's memory payload takes (the window follows it).
            int ratio = TcpBufferSizing.ScalingRatio(segSize);
            if (ratio != _scalingRatio)
            {
                _scalingRatio = ratio;
                SetReceiveSpaceLocked(_rcvSpace);
            }
        }
        if (_oooFin && _oooFinSeq == _rcvNxt)
        {
            ReceiveFinLocked();
            return;
        }
        // Out of order, or filling a hole: ACK at once so the sender sees duplicates or the new edge (RFC 5681 4.2).
        if (!inOrder || hadHoles)
        {
            SendAckLocked();
            return;
        }
        if (!_receivedData)
        {
            _receivedData = true;
            _quickAcks = (int)Math.Clamp(_rcvBuf.Limit / (2L * _rcvMssEstimate), 2, 16);
        }
        // Delayed ACK (RFC 1122 4.2.3.2): at least every second full-sized segment, else within 40 ms.
        _segsSinceAck += segs;
        if (_quickAcks > 0)
        {
            _quickAcks--;
            SendAckLocked();
        }
        else if (_segsSinceAck >= 2)
        {
            SendAckLocked();
        }
        else
        {
            _stack.Timers.ArmIfIdle(_delackTimer, _stack.NowNs + DelayedAckNs);
        }
    }

    private void ReceiveFinLocked()
    {
        _rcvNxt++;
        _finReceived = true;
        _oooFin = false;
        switch (_state)
        {
            case TcpState.SynReceived:
            case TcpState.Established:
                _state = TcpState.CloseWait;
                break;
            case TcpState.FinWait1:
                if (Seq.Geq(_sndUna, DataEnd + 1))
                {
                    EnterTimeWaitLocked();
                }
                else
                {
                    _state = TcpState.Closing; // simultaneous close
                }
                break;
            case TcpState.FinWait2:
                EnterTimeWaitLocked();
                break;
        }
        SendAckLocked();
    }

    private void EnterTimeWaitLocked()
    {
        _state = TcpState.TimeWait;
        TimerQueue.Cancel(_rtxTimer);
        TimerQueue.Cancel(_keepaliveTimer);
        _stack.Timers.Arm(_stateTimer, _stack.NowNs + TimeWaitNs);
    }

    /// <summary>An ICMP error about one of our segments (RFC 1122 4.2.3.9; Linux's tcp_v4_err).</summary>
    internal void HandleIcmpErrorLocked(Errno err, uint seq)
    {
        if (!Seq.InRange(seq, _sndUna, _sndMax + 1))
        {
            return; // not about data in flight: forged or stale
        }
        if (_state == TcpState.SynSent)
        {
            CloseLocked(err, sendReset: false);
            return;
        }
        // In a synchronized state an unreachable is soft: remembered for SO_ERROR only if the connection dies.
        _softError = err;
    }

    /// <summary>After the application read <paramref name="n"/> bytes: window update and receive-buffer autotuning.</summary>
    private void AfterReadLocked(int n)
    {
        AutotuneReceiveLocked(n);
        if (_state is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            // Announce a window that opened by a useful amount (receiver-side silly window avoidance).
            long newEdgeGain = (long)(int)(_rcvNxt + (uint)_rcvBuf.Space - _rcvAdvEdge);
            if (newEdgeGain >= Math.Min(_rcvBuf.Limit / 2, 2L * _mss))
            {
                SendAckLocked();
            }
        }
    }

    /// <summary>
    /// Linux's tcp_rcv_space_adjust: once per round trip, if the application drained more than the largest
    /// round so far, the buffer grows to hold twice that plus sixteen segments, more while the rate grows (a
    /// sender in slow start doubles each round), up to tcp_rmem[2]; the window follows the buffer.
    /// </summary>
    private void AutotuneReceiveLocked(int n)
    {
        _rcvSpaceCopied += n;
        long now = _stack.NowNs;
        long rtt = _haveRtt ? Math.Max(_srtt, 1_000_000) : 100_000_000;
        if (now - _rcvSpaceStartNs < rtt)
        {
            return;
        }
        long copied = _rcvSpaceCopied;
        // The first round compares with the initial window's worth (tcp_init_buffer_space: ten segments at most).
        long space = _rcvSpaceLast > 0 ? _rcvSpaceLast : Math.Min(65535, 10L * _mss);
        if (copied > space)
        {
            if (!_rcvBufLocked)
            {
                long window = (2 * copied) + (16L * _mss);
                window += 2 * (window * (copied - space) / space);
                long target = Math.Min(TcpBufferSizing.SpaceFromWindow(window, _scalingRatio), MaxReceiveBuffer);
                if (target > _rcvSpace)
                {
                    SetReceiveSpaceLocked((int)target);
                }
            }
            _rcvSpaceLast = copied;
        }
        _rcvSpaceCopied = 0;
        _rcvSpaceStartNs = now;
    }
}
