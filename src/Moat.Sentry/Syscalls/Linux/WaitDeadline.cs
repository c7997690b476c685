using System;
using System.Diagnostics;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// Deadlines of timed waits on the monotonic Stopwatch clock, kept across a restart so that a wait a stop
/// interrupted goes on with the time it had left. long.MaxValue is "never".
/// </summary>
internal static class WaitDeadline
{
    private static readonly double s_ticksPerNano = Stopwatch.Frequency / 1e9;

    /// <summary>The deadline <paramref name="nanos"/> from now (never, when negative or beyond the clock's range).</summary>
    public static long FromNow(long nanos)
    {
        if (nanos < 0)
        {
            return long.MaxValue;
        }

        long now = Stopwatch.GetTimestamp();
        double ticks = nanos * s_ticksPerNano;
        return ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
    }

    /// <summary>Nanoseconds left until <paramref name="deadline"/>, 0 once it passed.</summary>
    public static long NanosLeft(long deadline)
    {
        if (deadline == long.MaxValue)
        {
            return long.MaxValue;
        }

        long ticks = deadline - Stopwatch.GetTimestamp();
        return ticks <= 0 ? 0 : (long)Math.Min(ticks / s_ticksPerNano, long.MaxValue);
    }

    /// <summary>Milliseconds left, rounded up (-1 for never), for a wait in whole milliseconds.</summary>
    public static int MillisLeft(long deadline)
    {
        if (deadline == long.MaxValue)
        {
            return -1;
        }

        long nanos = NanosLeft(deadline);
        return (int)Math.Min((nanos + 999_999) / 1_000_000, int.MaxValue);
    }
}
