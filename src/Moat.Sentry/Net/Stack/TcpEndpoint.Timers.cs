using System;
using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>Retransmission (RFC 6298) with exponential backoff, persist, delayed ACK, TIME-WAIT and keepalive.</summary>
internal sealed partial class TcpEndpoint
{
    private const long InitialRtoNs = 1_000_000_000;   // RFC 6298 2.1, Linux's TCP_TIMEOUT_INIT
    private const long MinRtoNs = 200_000_000;         // Linux's TCP_RTO_MIN
    private const long MaxRtoNs = 120_000_000_000;     // Linux's TCP_RTO_MAX
    private const long DelayedAckNs = 40_000_000;      // Linux's TCP_DELACK_MIN
    private const long TimeWaitNs = 60_000_000_000;    // TCP_TIMEWAIT_LEN
    private const long FinTimeoutNs = 60_000_000_000;  // tcp_fin_timeout
    private const int SynRetries = 6;                  // tcp_syn_retries
    private const int MaxRetries = 15;                 // tcp_retries2

    private readonly StackTimer _rtxTimer;
    private readonly StackTimer _delackTimer;
    private readonly StackTimer _stateTimer; // TIME-WAIT, or FIN-WAIT-2 of an orphan
    private readonly StackTimer _keepaliveTimer;

    // RTT estimation, protected by the stack's lock.
    private bool _haveRtt;
    private long _srtt;
    private long _rttvar;
    private long _rto = InitialRtoNs;
    private int _backoff;
    private int _retries;
    private bool _rttTiming;
    private uint _rttSeq;
    private long _rttStartNs;
    private long _synSentNs;
    private Errno _softError;

    private long _lastRecvNs;
    private int _keepaliveProbes;

    private long _rcvSpaceCopied;
    private long _rcvSpaceLast;
    private long _rcvSpaceStartNs;

    /// <summary>The retransmission timeout without backoff (tests, TCP_INFO later).</summary>
    public long RtoNs => _rto;

    public long SmoothedRttNs => _srtt;

    private long CurrentRtoNs => _rto;

    private long BackedOffRtoNs => Math.Min(_rto << Math.Min(_backoff, 20), MaxRtoNs);

    /// <summary>RFC 6298 2.2-2.4: SRTT and RTTVAR from a sample; RTO = SRTT + 4 RTTVAR within Linux's bounds.</summary>
    private void RttSampleLocked(long r)
    {
        if (r < 0)
        {
            return;
        }
        if (!_haveRtt)
        {
            _srtt = r;
            _rttvar = r / 2;
            _haveRtt = true;
        }
        else
        {
            _rttvar = ((3 * _rttvar) + Math.Abs(_srtt - r)) / 4;
            _srtt = ((7 * _srtt) + r) / 8;
        }
        _rto = Math.Clamp(_srtt + Math.Max(4 * _rttvar, 1_000_000), MinRtoNs, MaxRtoNs);
    }

    private void OnRetransmitTimer()
    {
        RetransmitTimeoutLocked();
        NotifyLocked();
    }

    private void RetransmitTimeoutLocked()
    {
        switch (_state)
        {
            case TcpState.SynSent:
            case TcpState.SynReceived:
                _retries++;
                if (_retries > (_state == TcpState.SynSent ? SynRetries : SynAckRetries))
                {
                    CloseLocked(_state == TcpState.SynSent ? Errno.ETIMEDOUT : Errno.None, sendReset: false);
                    return;
                }
                _backoff++;
                SendSegmentLocked(_iss, _state == TcpState.SynSent ? TcpFlags.Syn : (byte)(TcpFlags.Syn | TcpFlags.Ack), 0, 0);
                _stack.Timers.Arm(_rtxTimer, _stack.NowNs + BackedOffRtoNs);
                return;
            case TcpState.Closed:
            case TcpState.Listen:
            case TcpState.TimeWait:
                return;
        }
        _retries++;
        if (_retries > MaxRetries)
        {
            CloseLocked(_softError != Errno.None ? _softError : Errno.ETIMEDOUT, sendReset: false);
            return;
        }
        if (_sndWnd == 0 && Seq.Lt(_sndUna, DataEnd))
        {
            // Persist: the peer's window is closed. Probe it with one byte beyond it, which it answers with an
            // ACK carrying its current window (RFC 1122 4.2.2.17); the interval backs off like retransmissions.
            SendSegmentLocked(_sndUna, TcpFlags.Ack, (int)(_sndUna - _sndBufSeq), 1);
            if (Seq.Leq(_sndNxt, _sndUna))
            {
                _sndNxt = _sndUna + 1;
            }
            _sndMax = Seq.Max(_sndMax, _sndNxt);
            _backoff++;
            _stack.Timers.Arm(_rtxTimer, _stack.NowNs + BackedOffRtoNs);
            return;
        }
        // RFC 5681 3.1 and RFC 6298 5.4-5.7: collapse the window, go back to SND.UNA, back the timer off.
        if (_backoff == 0)
        {
            _ssthresh = Math.Max((long)(_sndMax - _sndUna) / 2, 2L * _mss);
        }
        _cwnd = _mss;
        _sacked.Clear(); // go back to SND.UNA: everything is resent, as the peer may have reneged
        _rtxHigh = _sndUna;
        _inRecovery = false;
        _recover = _sndMax;
        _dupAcks = 0;
        _backoff++;
        _sndNxt = _sndUna + RetransmitFirstLocked();
        _stack.Timers.Arm(_rtxTimer, _stack.NowNs + BackedOffRtoNs);
    }

    private void OnDelayedAckTimer()
    {
        if (_state is not (TcpState.Closed or TcpState.Listen or TcpState.SynSent))
        {
            SendAckLocked();
        }
    }

    private void OnStateTimer()
    {
        if (_state is TcpState.TimeWait or TcpState.FinWait2)
        {
            CloseLocked(Errno.None, sendReset: false);
        }
    }

    private void ArmKeepaliveLocked()
    {
        _lastRecvNs = _stack.NowNs;
        _stack.Timers.Arm(_keepaliveTimer, _lastRecvNs + KeepIdleNs);
    }

    /// <summary>Keepalive: after KeepIdle of silence, probes every KeepInterval; KeepCount unanswered ones reset.</summary>
    private void OnKeepaliveTimer()
    {
        if (!_keepAlive || _state is not (TcpState.Established or TcpState.CloseWait))
        {
            return;
        }
        long now = _stack.NowNs;
        if (_keepaliveProbes == 0 && now - _lastRecvNs < KeepIdleNs)
        {
            _stack.Timers.Arm(_keepaliveTimer, _lastRecvNs + KeepIdleNs);
            return;
        }
        if (_keepaliveProbes >= KeepCount)
        {
            CloseLocked(Errno.ETIMEDOUT, sendReset: true);
            return;
        }
        // A probe is an ACK one byte behind SND.UNA: the peer must answer it with an ACK.
        SendSegmentLocked(_sndUna - 1, TcpFlags.Ack, 0, 0);
        _keepaliveProbes++;
        _stack.Timers.Arm(_keepaliveTimer, now + KeepIntervalNs);
        NotifyLocked();
    }
}
