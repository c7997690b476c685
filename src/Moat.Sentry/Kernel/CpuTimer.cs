using System;
using System.Threading;

namespace Moat.Sentry.Kernel;

/// <summary>
/// A timer on a CPU clock: ITIMER_VIRTUAL and ITIMER_PROF (the process's user, or user + system, time) and
/// POSIX timers on CPU clocks (CpuClocks). The app runs in its stub, so the host counts its CPU time there;
/// while armed, the timer samples that clock every 10 ms and fires once it passes the deadline. Resolution
/// is that period.
/// </summary>
internal sealed class CpuTimer : IArmedTimer
{
    private const long NsPerTick = 10_000_000;
    private readonly Lock _mu = new();
    private readonly Timer _sampler;
    private readonly Func<long> _clockNs;
    private readonly Action _fired;

    // Protected by _mu. _deadlineNs is on the CPU clock; 0 is disarmed.
    private long _deadlineNs;
    private long _intervalNs;
    private long _overrun;

    /// <param name="clockNs">Reads the CPU clock this timer counts, in nanoseconds.</param>
    /// <param name="fired">Sends the signal; runs on a pool thread.</param>
    public CpuTimer(Func<long> clockNs, Action fired)
    {
        _clockNs = clockNs;
        _fired = fired;
        _sampler = new Timer(static s => ((CpuTimer)s!).Sample(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Arms the timer to fire after <paramref name="valueNs"/> of CPU time (0 disarms), then every <paramref name="intervalNs"/>.</summary>
    public void Arm(long valueNs, long intervalNs)
    {
        lock (_mu)
        {
            _intervalNs = intervalNs;
            _deadlineNs = valueNs <= 0 ? 0 : _clockNs() + valueNs;
            _sampler.Change(valueNs <= 0 ? Timeout.Infinite : 10, valueNs <= 0 ? Timeout.Infinite : 10);
        }
    }

    /// <summary>The CPU time left until expiry (0 if disarmed) and the interval, in nanoseconds.</summary>
    public (long ValueNs, long IntervalNs) Remaining()
    {
        lock (_mu)
        {
            if (_deadlineNs == 0)
            {
                return (0, _intervalNs);
            }

            // An armed timer never reads as 0 (that means disarmed): at least one tick is left.
            return (Math.Max(_deadlineNs - _clockNs(), NsPerTick), _intervalNs);
        }
    }

    /// <summary>Periods that passed within one sample and were collapsed into one expiry (timer_getoverrun).</summary>
    public long TakeOverrun()
    {
        lock (_mu)
        {
            long o = _overrun;
            _overrun = 0;
            return o;
        }
    }

    public void Dispose() => _sampler.Dispose();

    private void Sample()
    {
        bool fire = false;
        lock (_mu)
        {
            if (_deadlineNs == 0)
            {
                return;
            }

            long now = _clockNs();
            if (now >= _deadlineNs)
            {
                fire = true;
                if (_intervalNs > 0)
                {
                    // Overruns collapse into one signal, as Linux's do for a process that used several periods at once.
                    long periods = Math.Max(1, (now - _deadlineNs) / _intervalNs + 1);
                    _overrun += periods - 1;
                    _deadlineNs += periods * _intervalNs;
                }
                else
                {
                    _deadlineNs = 0;
                    _sampler.Change(Timeout.Infinite, Timeout.Infinite);
                }
            }
        }

        if (fire)
        {
            _fired();
        }
    }
}
