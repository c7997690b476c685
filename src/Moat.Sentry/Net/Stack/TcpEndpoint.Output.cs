using System;
using System.Buffers.Binary;

namespace Moat.Sentry.Net.Stack;

/// <summary>The sending half: segments, Nagle, the send window, NewReno congestion control and RTT estimation.</summary>
internal sealed partial class TcpEndpoint
{
    private const int InitialCwndSegments = 10; // RFC 6928, Linux's TCP_INIT_CWND
    private const int DefaultMss = 536;         // RFC 1122 when the peer sends no MSS option
    private const int TimestampOptionLength = 12;

    // Send sequence variables (RFC 793 3.2), protected by the stack's lock.
    private uint _iss;
    private uint _sndUna;
    private uint _sndNxt;
    private uint _sndMax;     // highest sequence sent so far (SND.NXT before a go-back after a timeout)
    private uint _sndBufSeq;  // sequence of the first byte in _sndBuf
    private uint _sndWl1;
    private uint _sndWl2;
    private long _sndWnd;
    private int _sndShift;    // the peer's window scale
    private int _mss = DefaultMss; // payload bytes per segment we send
    private bool _finQueued;

    // Options agreed in the handshake.
    private bool _tsOn;
    private bool _sackOn;
    private uint _tsRecent;
    private uint _tsOffset;

    // Congestion control (RFC 5681, RFC 6582).
    private long _cwnd;
    private long _ssthresh = long.MaxValue;
    private int _dupAcks;
    private bool _inRecovery;
    private uint _recover;

    // The SACK scoreboard (RFC 2018, a light RFC 6675): ranges above SND.UNA the peer holds, sorted and
    // disjoint, and how far holes were retransmitted in this recovery.
    private readonly System.Collections.Generic.List<(uint Start, uint End)> _sacked = [];
    private uint _rtxHigh;

    private uint DataEnd => _sndBufSeq + (uint)_sndBuf.Count;

    private uint TsNow => (uint)(_stack.NowNs / 1_000_000) + _tsOffset;

    /// <summary>Congestion window in bytes (tests, TCP_INFO later).</summary>
    public long CongestionWindow => _cwnd;

    public long SlowStartThreshold => _ssthresh;

    /// <summary>Payload bytes per segment this endpoint sends.</summary>
    public int Mss => _mss;

    private void InitSendSequenceLocked()
    {
        _iss = _stack.NewIssLocked();
        _sndUna = _iss;
        _sndNxt = _iss;
        _sndMax = _iss;
        _sndBufSeq = _iss + 1;
        _recover = _iss; // RFC 6582 3.2 step 1
        _tsOffset = _stack.NewIssLocked();
    }

    /// <summary>The MSS we announce: what our interface carries after the IP and TCP headers.</summary>
    private int OurMss => Math.Min(_route.Nic.Mtu, 65535) - (_key.RemoteAddress.IsV4 ? Ipv4Header.MinLength : NetworkStack.Ipv6HeaderLength)
        - TcpSegment.HeaderLength;

    /// <summary>Linux's tcp_select_initial_window: the shift is ilog2 of the largest receive buffer (tcp_rmem[2]) less 15.</summary>
    private static int WindowShiftFor(int space) => Math.Clamp(System.Numerics.BitOperations.Log2((uint)space) - 15, 0, 14);

    private void SendSynLocked()
    {
        byte flags = _state == TcpState.SynReceived ? (byte)(TcpFlags.Syn | TcpFlags.Ack) : TcpFlags.Syn;
        _synSentNs = _stack.NowNs;
        SendSegmentLocked(_iss, flags, 0, 0);
        _sndNxt = _iss + 1;
        _sndMax = Seq.Max(_sndMax, _sndNxt);
        _stack.Timers.ArmIfIdle(_rtxTimer, _stack.NowNs + CurrentRtoNs);
    }

    /// <summary>Sends what the windows, Nagle and the queued FIN allow.</summary>
    private void OutputLocked()
    {
        if (_state is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck))
        {
            return;
        }
        while (true)
        {
            uint end = DataEnd;
            int unsent = Seq.Lt(_sndNxt, end) ? (int)(end - _sndNxt) : 0;
            long inFlight = (long)(_sndNxt - _sndUna);
            long window = Math.Min(_sndWnd, _cwnd);
            long room = window - inFlight;
            if (unsent > 0)
            {
                int n = (int)Math.Min(Math.Min(unsent, MaxSegmentLocked()), Math.Max(room, 0));
                if (n <= 0)
                {
                    if (_sndWnd == 0 && _sndUna == _sndMax)
                    {
                        // Zero window with nothing in flight: the persist timer probes it (RFC 1122 4.2.2.17).
                        _stack.Timers.ArmIfIdle(_rtxTimer, _stack.NowNs + BackedOffRtoNs);
                    }
                    return;
                }
                // TCP_CORK and MSG_MORE hold a short last segment until uncorked, a FIN, or 200 ms.
                if (n < _mss && n == unsent && (_cork || _more) && !_pushHeld && !_finQueued)
                {
                    _stack.Timers.ArmIfIdle(_corkTimer, _stack.NowNs + CorkFlushNs);
                    return;
                }
                // Sender-side silly window avoidance (RFC 1122 4.2.3.4) and Nagle (RFC 896): a short segment
                // waits while data is in flight, unless it is all there is, NODELAY is set, or a FIN follows.
                if (n < _mss && inFlight > 0)
                {
                    bool windowLimited = n < unsent;
                    bool nagle = !NoDelay && !_finQueued;
                    if (windowLimited || nagle)
                    {
                        return;
                    }
                }
                if (n > _mss && n % _mss != 0)
                {
                    // A TSO segment's short tail goes only where it would go alone (tcp_mss_split_point): not
                    // when the window cut it, nor under cork or Nagle; it then waits as any short segment.
                    bool holdTail = n < unsent || _cork || _more || (!NoDelay && !_finQueued);
                    if (holdTail)
                    {
                        n -= n % _mss;
                    }
                }
                bool fin = _finQueued && n == unsent;
                byte flags = (byte)(TcpFlags.Ack | (n == unsent ? TcpFlags.Psh : 0) | (fin ? TcpFlags.Fin : 0));
                bool retransmit = Seq.Lt(_sndNxt, _sndMax);
                if (!retransmit && !_rttTiming && !_tsOn)
                {
                    _rttTiming = true;
                    _rttSeq = _sndNxt;
                    _rttStartNs = _stack.NowNs;
                }
                if (retransmit)
                {
                    _stack.Stats.TcpRetransSegs++;
                }
                SendSegmentLocked(_sndNxt, flags, (int)(_sndNxt - _sndBufSeq), n);
                _bytesSent += n;
                _sndNxt += (uint)n + (fin ? 1u : 0u);
                _sndMax = Seq.Max(_sndMax, _sndNxt);
                _stack.Timers.ArmIfIdle(_rtxTimer, _stack.NowNs + BackedOffRtoNs);
                continue;
            }
            if (_finQueued && _sndNxt == end)
            {
                SendSegmentLocked(_sndNxt, TcpFlags.Fin | TcpFlags.Ack, 0, 0);
                _sndNxt = end + 1;
                _sndMax = Seq.Max(_sndMax, _sndNxt);
                _stack.Timers.ArmIfIdle(_rtxTimer, _stack.NowNs + BackedOffRtoNs);
            }
            return;
        }
    }

    /// <summary>
    /// The most payload one segment may carry: the MSS, or over a link whose device segments (TSO) as many whole
    /// MSS as an IPv4 datagram holds (Linux's size goal without its pacing-rate cap), which the host cuts up.
    /// </summary>
    private int MaxSegmentLocked()
    {
        const LinkOffloads tso = LinkOffloads.Tso | LinkOffloads.TxChecksum;
        if (_route.Nic == null || (_route.Nic.Link.Offloads & tso) != tso || !_key.RemoteAddress.IsV4)
        {
            return _mss;
        }
        const int room = ushort.MaxValue - Ipv4Header.MinLength - 60;
        return Math.Max(room / _mss, 1) * _mss;
    }

    /// <summary>Resends the first unacknowledged segment (fast retransmit, a partial ACK in recovery).</summary>
    private uint RetransmitFirstLocked()
    {
        uint end = DataEnd;
        uint covered = 0;
        _stack.Stats.TcpRetransSegs++;
        if (Seq.Lt(_sndUna, end))
        {
            int n = (int)Math.Min(end - _sndUna, (uint)_mss);
            bool fin = _finQueued && _sndUna + (uint)n == end;
            SendSegmentLocked(_sndUna, (byte)(TcpFlags.Ack | TcpFlags.Psh | (fin ? TcpFlags.Fin : 0)), (int)(_sndUna - _sndBufSeq), n);
            _bytesSent += n;
            covered = (uint)n + (fin ? 1u : 0u);
        }
        else if (_finQueued)
        {
            SendSegmentLocked(end, TcpFlags.Fin | TcpFlags.Ack, 0, 0);
            covered = 1;
        }
        _rttTiming = false; // Karn: no sample from a retransmitted segment
        return covered;
    }

    private void QueueFinLocked()
    {
        switch (_state)
        {
            case TcpState.Established:
            case TcpState.SynReceived:
                _state = TcpState.FinWait1;
                break;
            case TcpState.CloseWait:
                _state = TcpState.LastAck;
                break;
            default:
                return;
        }
        _finQueued = true;
        OutputLocked();
    }

    /// <summary>The window we advertise (before scaling), never moving the right edge back (RFC 7323 2.4).</summary>
    private int AdvertisedWindowLocked(bool syn)
    {
        int shift = syn ? 0 : _rcvShift;
        long field = _rcvBuf.Space >> shift;
        long current = Seq.Gt(_rcvAdvEdge, _rcvNxt) ? _rcvAdvEdge - _rcvNxt : 0;
        if ((field << shift) < current)
        {
            // Never shrink: keep the edge. While the buffer has that room, round up to the scale's unit as
            // Linux's tcp_select_window does (the ring takes the few bytes beyond its limit); a full buffer
            // rounds down, so that probes into a closed window cannot creep its edge forward.
            field = _rcvBuf.Space >= current ? (current + (1L << shift) - 1) >> shift : current >> shift;
        }
        field = Math.Min(field, 65535);
        uint newEdge = _rcvNxt + (uint)(field << shift);
        if (Seq.Gt(newEdge, _rcvAdvEdge))
        {
            _rcvAdvEdge = newEdge;
        }
        return (int)field;
    }

    /// <summary>
    /// Builds and sends one segment: <paramref name="length"/> bytes from the send buffer at
    /// <paramref name="bufferOffset"/>, the options the handshake agreed, the current ACK and window.
    /// </summary>
    private void SendSegmentLocked(uint seq, byte flags, int bufferOffset, int length)
    {
        bool syn = (flags & TcpFlags.Syn) != 0;
        Span<byte> opts = stackalloc byte[40];
        int ol = 0;
        if (syn)
        {
            opts[ol++] = 2;
            opts[ol++] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(opts[ol..], (ushort)OurMss);
            ol += 2;
            bool offerAll = _state == TcpState.SynSent;
            bool sack = offerAll || _sackOn;
            bool ts = offerAll || _tsOn;
            if (sack && ts)
            {
                opts[ol++] = 4; // SACK-permitted in the padding before the timestamps, as Linux lays them out
                opts[ol++] = 2;
                ol += WriteTimestamp(opts[ol..]);
            }
            else if (ts)
            {
                opts[ol++] = 1;
                opts[ol++] = 1;
                ol += WriteTimestamp(opts[ol..]);
            }
            else if (sack)
            {
                opts[ol++] = 1;
                opts[ol++] = 1;
                opts[ol++] = 4;
                opts[ol++] = 2;
            }
            if (offerAll || _wsOn)
            {
                opts[ol++] = 1;
                opts[ol++] = 3;
                opts[ol++] = 3;
                opts[ol++] = (byte)_rcvShift;
            }
        }
        else
        {
            if (_tsOn)
            {
                opts[ol++] = 1;
                opts[ol++] = 1;
                ol += WriteTimestamp(opts[ol..]);
            }
            var ooo = _rcvBuf.OutOfOrder;
            if (_sackOn && ooo.Count > 0 && (flags & TcpFlags.Rst) == 0)
            {
                int blocks = Math.Min(ooo.Count, (40 - ol - 4) / 8);
                opts[ol++] = 1;
                opts[ol++] = 1;
                opts[ol++] = 5;
                opts[ol++] = (byte)(2 + (8 * blocks));
                // The most recent block first would be RFC 2018's order; the lowest ones are what the sender needs.
                for (int i = 0; i < blocks; i++)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(opts[ol..], ooo[i].Start);
                    BinaryPrimitives.WriteUInt32BigEndian(opts[(ol + 4)..], ooo[i].End);
                    ol += 8;
                }
            }
        }
        while ((ol & 3) != 0)
        {
            opts[ol++] = 0;
        }
        int hlen = TcpSegment.HeaderLength + ol;
        PacketBuffer p = PacketBuffer.Rent(hlen + length);
        Span<byte> t = p.Append(hlen + length);
        bool ack = (flags & TcpFlags.Ack) != 0;
        BinaryPrimitives.WriteUInt16BigEndian(t, _key.LocalPort);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], _key.RemotePort);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], ack ? _rcvNxt : 0);
        t[12] = (byte)((hlen / 4) << 4);
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t[14..], (ushort)((flags & TcpFlags.Rst) != 0 ? 0 : AdvertisedWindowLocked(syn)));
        t[16] = 0;
        t[17] = 0;
        t[18] = 0;
        t[19] = 0;
        opts[..ol].CopyTo(t[TcpSegment.HeaderLength..]);
        bool loopback = _route.Nic is { IsLoopback: true };
        if (loopback && length > 0 && _stack.PacketEndpoints.Count == 0 && _stack.RawEndpoints.Count == 0)
        {
            p.PayloadFrom = this; // the receiver copies it from _sndBuf (CopyQueuedLocked)
        }
        else if (length > 0)
        {
            _sndBuf.CopyOut(bufferOffset, t.Slice(hlen, length));
        }
        LinkOffloads offloads = _route.Nic?.Link.Offloads ?? LinkOffloads.None;
        if (loopback || (offloads & LinkOffloads.TxChecksum) != 0)
        {
            // As Linux's lo (NETIF_F_HW_CSUM): the checksum is never computed, nor verified on arrival. A TAP
            // device has the host complete it (NEEDS_CSUM), over the whole of a TSO segment's length too: the
            // host's segmentation adjusts the pseudo-header sum to each piece (tcp_gso_segment).
            BinaryPrimitives.WriteUInt16BigEndian(t[16..], TcpSegment.PartialChecksum(_key.LocalAddress, _key.RemoteAddress, t.Length));
            p.ChecksumPartial = true;
            if (length > _mss && !loopback)
            {
                p.GsoSize = _mss;
            }
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(t[16..], TcpSegment.ComputeChecksum(_key.LocalAddress, _key.RemoteAddress, t));
        }
        if (ack)
        {
            _segsSinceAck = 0;
            TimerQueue.Cancel(_delackTimer);
        }
        _stack.Stats.TcpOutSegs++;
        _stack.SendIpLocked(_route, _key.LocalAddress, _key.RemoteAddress, Ipv4Header.ProtocolTcp, p, dontFragment: true);
    }

    /// <summary>
    /// Stores the <paramref name="n"/> queued bytes from sequence <paramref name="seq"/> in a receiver's queue (a
    /// looped segment whose payload stayed here); false if they are no longer queued, which cannot happen before
    /// they are acknowledged, so the receiver then treats the segment as lost.
    /// </summary>
    internal bool CopyQueuedLocked(uint seq, int n, TcpReceiveBuffer to, ref uint rcvNxt)
    {
        int offset = (int)(seq - _sndBufSeq);
        if (offset < 0 || n > _sndBuf.Count - offset)
        {
            return false;
        }
        _sndBuf.Spans(offset, n, out ReadOnlySpan<byte> first, out ReadOnlySpan<byte> second);
        rcvNxt = to.Write(rcvNxt, seq, first);
        if (second.Length > 0)
        {
            rcvNxt = to.Write(rcvNxt, seq + (uint)first.Length, second);
        }
        return true;
    }

    private int WriteTimestamp(Span<byte> o)
    {
        o[0] = 8;
        o[1] = 10;
        BinaryPrimitives.WriteUInt32BigEndian(o[2..], TsNow);
        BinaryPrimitives.WriteUInt32BigEndian(o[6..], _tsRecent);
        return 10;
    }

    private void SendAckLocked() => SendSegmentLocked(AcceptableSeqLocked(), TcpFlags.Ack, 0, 0);

    /// <summary>
    /// Linux's tcp_acceptable_seq: a bare ACK carries SND.NXT unless that is past the peer's window (a probe
    /// moved it beyond a closed one), then the window's end, which the peer accepts. Two ends with closed
    /// windows would otherwise answer each other's unacceptable ACKs for ever.
    /// </summary>
    private uint AcceptableSeqLocked()
    {
        uint windowEnd = _sndUna + (uint)Math.Min(_sndWnd, int.MaxValue);
        return Seq.Leq(_sndNxt, windowEnd) ? _sndNxt : windowEnd;
    }

    private void SendResetLocked()
    {
        SendSegmentLocked(_sndNxt, TcpFlags.Rst | TcpFlags.Ack, 0, 0);
        _stack.Stats.TcpOutRsts++;
    }

    /// <summary>
    /// Congestion control on an ACK that advanced SND.UNA by <paramref name="acked"/> bytes: NewReno's recovery
    /// (RFC 6582) on partial and full ACKs, else slow start and congestion avoidance (RFC 5681).
    /// </summary>
    private void OnAckAdvancedLocked(long acked)
    {
        if (_inRecovery)
        {
            if (Seq.Geq(_sndUna, _recover))
            {
                _inRecovery = false;
                _cwnd = Math.Max(Math.Min(_ssthresh, (long)(_sndMax - _sndUna) + _mss), _mss);
            }
            else
            {
                // A partial ACK: the next hole (with SACK), else the first unacknowledged segment (NewReno).
                if (!RetransmitNextHoleLocked() && Seq.Geq(_sndUna, _rtxHigh))
                {
                    _rtxHigh = _sndUna + RetransmitFirstLocked();
                }
                _cwnd = Math.Max(_cwnd - acked + _mss, _mss);
                _stack.Timers.Arm(_rtxTimer, _stack.NowNs + CurrentRtoNs);
            }
            _dupAcks = 0;
            return;
        }
        _dupAcks = 0;
        if (_cwnd < _ssthresh)
        {
            // Linux's tcp_slow_start counts packets: each acknowledged segment, however short, opens the window
            // by one (up to ssthresh). A sender of small writes grows it as Linux's does, and its send buffer too.
            long segments = (acked + _mss - 1) / _mss;
            _cwnd = Math.Max(_cwnd, Math.Min(_cwnd + (segments * _mss), _ssthresh));
        }
        else
        {
            _cwnd += Math.Max(1, (long)_mss * _mss / _cwnd);
        }
        ExpandSendBufferLocked();
    }

    /// <summary>Three duplicate ACKs: fast retransmit and enter recovery; more of them inflate the window.</summary>
    private void OnDuplicateAckLocked()
    {
        _dupAcks++;
        if (_inRecovery)
        {
            _cwnd += _mss;
            RetransmitNextHoleLocked();
            return;
        }
        if (_dupAcks == 3 && Seq.Gt(_sndUna, _recover - 1))
        {
            long flight = (long)(_sndMax - _sndUna);
            _ssthresh = Math.Max(flight / 2, 2L * _mss);
            _recover = _sndMax;
            _inRecovery = true;
            _rtxHigh = _sndUna + RetransmitFirstLocked();
            _cwnd = _ssthresh + (3L * _mss);
        }
    }

    /// <summary>Records the SACK blocks of an ACK for <paramref name="ack"/> and forgets what it acknowledges.</summary>
    private void UpdateScoreboardLocked(in TcpSegment s, uint ack)
    {
        while (_sacked.Count > 0 && Seq.Leq(_sacked[0].End, ack))
        {
            _sacked.RemoveAt(0);
        }
        if (_sacked.Count > 0 && Seq.Lt(_sacked[0].Start, ack))
        {
            _sacked[0] = (ack, _sacked[0].End);
        }
        if (!_sackOn)
        {
            return;
        }
        for (int b = 0; b < s.SackCount; b++)
        {
            uint start = s.Sacks[2 * b], end = s.Sacks[(2 * b) + 1];
            if (!Seq.Lt(start, end) || Seq.Leq(end, ack) || Seq.Gt(end, _sndMax))
            {
                continue; // empty, already acknowledged, or beyond what was sent: ignored
            }
            if (Seq.Lt(start, ack))
            {
                start = ack;
            }
            int i = 0;
            while (i < _sacked.Count && Seq.Lt(_sacked[i].End, start))
            {
                i++;
            }
            while (i < _sacked.Count && Seq.Leq(_sacked[i].Start, end))
            {
                if (Seq.Lt(_sacked[i].Start, start))
                {
                    start = _sacked[i].Start;
                }
                if (Seq.Gt(_sacked[i].End, end))
                {
                    end = _sacked[i].End;
                }
                _sacked.RemoveAt(i);
            }
            _sacked.Insert(i, (start, end));
        }
    }

    /// <summary>
    /// In recovery with SACK: retransmits the next hole below the highest SACKed byte that this recovery has
    /// not retransmitted yet (one segment per ACK), so several losses in a window are repaired in one round
    /// trip instead of one per round trip. False when there is none.
    /// </summary>
    private bool RetransmitNextHoleLocked()
    {
        if (!_sackOn || _sacked.Count == 0)
        {
            return false;
        }
        uint start = Seq.Max(_rtxHigh, _sndUna);
        uint highest = _sacked[^1].End;
        uint holeEnd = highest;
        foreach ((uint s, uint e) in _sacked)
        {
            if (Seq.Leq(s, start) && Seq.Lt(start, e))
            {
                start = e;
            }
            else if (Seq.Gt(s, start))
            {
                holeEnd = s;
                break;
            }
        }
        uint dataEnd = DataEnd;
        if (Seq.Lt(dataEnd, holeEnd))
        {
            holeEnd = dataEnd;
        }
        if (!Seq.Lt(start, holeEnd) || !Seq.Lt(start, highest))
        {
            return false;
        }
        int n = (int)Math.Min(holeEnd - start, (uint)_mss);
        _stack.Stats.TcpRetransSegs++;
        SendSegmentLocked(start, TcpFlags.Ack | TcpFlags.Psh, (int)(start - _sndBufSeq), n);
        _rtxHigh = start + (uint)n;
        _rttTiming = false;
        return true;
    }

    /// <summary>Linux's tcp_sndbuf_expand: the send buffer follows the congestion window, unless SO_SNDBUF set it.</summary>
    private void ExpandSendBufferLocked()
    {
        if (_sndBufLocked)
        {
            return;
        }
        int mssClamp = _mss + (_tsOn ? TimestampOptionLength : 0);
        long target = Math.Min(TcpBufferSizing.SendSpaceFor(mssClamp, (_cwnd + _mss - 1) / _mss, InitialCwndSegments), MaxSendBuffer);
        if (target > _sndSpace)
        {
            SetSendSpaceLocked((int)target);
        }
    }
}
