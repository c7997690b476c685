using System.Diagnostics;

namespace Moat.Sentry.Net.Stack;

/// <summary>The stack's notion of time, in nanoseconds of a monotonic clock; tests pass a fake one.</summary>
internal interface IStackClock
{
    long NowNs { get; }

    /// <summary>CLOCK_REALTIME in nanoseconds, for receive timestamps (always the host's: nothing waits on it).</summary>
    long RealtimeNs
    {
        get
        {
            Moat.Host.HostProcess.ClockGettime(0, out Moat.Abi.Timespec ts);
            return (ts.tv_sec * 1_000_000_000) + ts.tv_nsec;
        }
    }
}

/// <summary>The host's monotonic clock.</summary>
internal sealed class MonotonicClock : IStackClock
{
    public static readonly MonotonicClock Instance = new();

    public long NowNs => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
}
