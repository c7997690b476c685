using System;

namespace Moat.Sentry.Kernel;

/// <summary>A one-shot or periodic timer on some clock: what a POSIX timer (timer_create) runs on.</summary>
internal interface IArmedTimer : IDisposable
{
    /// <summary>Arms the timer to fire after <paramref name="valueNs"/> on its clock (0 disarms), then every <paramref name="intervalNs"/>.</summary>
    void Arm(long valueNs, long intervalNs);

    /// <summary>The time left until the next expiry (0 if disarmed) and the interval, in nanoseconds.</summary>
    (long ValueNs, long IntervalNs) Remaining();

    /// <summary>Expirations missed while the last one was still pending (timer_getoverrun).</summary>
    long TakeOverrun();
}
