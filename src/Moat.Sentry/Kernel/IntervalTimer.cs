using System;
using System.Diagnostics;
using System.Threading;

namespace Moat.Sentry.Kernel;

/// <summary>
/// A one-shot or periodic timer on the monotonic clock, the engine behind setitimer(ITIMER_REAL), alarm,
/// POSIX timers and timerfd. Expiry runs <see cref="Fired"/> on a pool thread; it only queues work.
/// Resolution is the host timer's (about a millisecond).
/// </summary>
internal sealed class IntervalTimer : IArmedTimer
{
    private readonly Lock _mu = new();
    private readonly Timer _timer;

    // Protected by _mu.
    private long _deadlineTicks;
    private long _intervalNs;
    private long _overrun;

    public IntervalTimer(Action<IntervalTimer> fired)
    {
        Fired = fired;
        _timer = new Timer(static s => ((IntervalTimer)s!).OnTimer(), this, Timeout.Infinite, Timeout.Infinite);
    }

    public Action<IntervalTimer> Fired { get; }

    /// <summary>Expirations missed while the last one was still pending (timer_getoverrun).</summary>
    public long TakeOverrun()
    {
        lock (_mu)
        {
            long o = _overrun;
            _overrun = 0;
            return o;
        }
    }

    /// <summary>Arms the timer to fire in <paramref name="valueNs"/> (0 disarms), then every <paramref name="intervalNs"/>.</summary>
    public void Arm(long valueNs, long intervalNs)
    {
        lock (_mu)
        {
            _intervalNs = intervalNs;
            if (valueNs <= 0)
            {
                _deadlineTicks = 0;
                _timer.Change(Timeout.Infinite, Timeout.Infinite);
                return;
            }

            _deadlineTicks = Stopwatch.GetTimestamp() + NsToTicks(valueNs);
            _timer.Change(NsToMs(valueNs), Timeout.Infinite);
        }
    }

    /// <summary>The time left until the next expiry (0 if disarmed) and the interval, in nanoseconds.</summary>
    public (long ValueNs, long IntervalNs) Remaining()
    {
        lock (_mu)
        {
            if (_deadlineTicks == 0)
            {
                return (0, _intervalNs);
            }

            long left = _deadlineTicks - Stopwatch.GetTimestamp();
            return (Math.Max(1, TicksToNs(left)), _intervalNs);
        }
    }

    private void OnTimer()
    {
        lock (_mu)
        {
            if (_deadlineTicks == 0)
            {
                return;
            }

            long now = Stopwatch.GetTimestamp();
            if (now < _deadlineTicks)
            {
                _timer.Change(NsToMs(TicksToNs(_deadlineTicks - now)), Timeout.Infinite);
                return;
            }

            if (_intervalNs > 0)
            {
                long late = TicksToNs(now - _deadlineTicks);
                long missed = late / _intervalNs;
                _overrun += missed;
                _deadlineTicks += NsToTicks((missed + 1) * _intervalNs);
                _timer.Change(NsToMs(TicksToNs(_deadlineTicks - now)), Timeout.Infinite);
            }
            else
            {
                _deadlineTicks = 0;
            }
        }

        Fired(this);
    }

    private static long NsToTicks(long ns) => (long)(ns * (Stopwatch.Frequency / 1e9));

    private static long TicksToNs(long ticks) => (long)(ticks * (1e9 / Stopwatch.Frequency));

    private static int NsToMs(long ns) => (int)Math.Clamp((ns + 999_999) / 1_000_000, 1, int.MaxValue);

    public void Dispose() => _timer.Dispose();
}
