using System;
using System.Diagnostics;
using System.Threading;

namespace Moat.Platform.Systrap;

/// <summary>
/// Whether the host's CPUs are oversubscribed, as the hand-offs of this platform see it: once a task saw
/// a spinning side lose its CPU to another thread, nobody spins for a while (a hold), and both sides of
/// every hand-off sleep on the futex. Spinning only pays when each side has a CPU of its own; on a busy
/// host a spinner takes the time slice of the very thread it waits for (docs/systrap-platform.md).
/// </summary>
/// <remarks>
/// The hold starts short and doubles while the load is still there when it ends, so that a steadily
/// loaded host is probed rarely and a passing burst costs little. Reading the verdict is one volatile
/// load and a compare against a timestamp the caller already has: nothing on the hot path makes a host call.
/// Written by any task thread without a lock: two marks that race only pick one of two close holds.
/// </remarks>
internal sealed class CpuContention
{
    private static readonly long s_minHold = Stopwatch.Frequency / 64;  // ~16 ms
    private static readonly long s_maxHold = Stopwatch.Frequency / 2;   // 500 ms

    // Stopwatch timestamp until which nobody spins, and the length of the last hold.
    private long _until;
    private long _hold;

    /// <summary>Whether hand-offs should sleep instead of spinning at <paramref name="now"/> (a Stopwatch timestamp).</summary>
    public bool IsContended(long now) => now < Volatile.Read(ref _until);

    /// <summary>Records that a spinning side, or the thread it waited for, lost its CPU at <paramref name="now"/>.</summary>
    public void Mark(long now)
    {
        long until = Volatile.Read(ref _until);
        if (now < until)
        {
            return; // Already held: the hold only grows once it has ended and the load is still there.
        }

        long hold = Volatile.Read(ref _hold);

        // Seen again within one hold of the last one's end: the load stayed, so the next probe waits longer.
        hold = hold != 0 && now - until < hold ? Math.Min(hold * 2, s_maxHold) : s_minHold;
        Volatile.Write(ref _hold, hold);
        Volatile.Write(ref _until, now + hold);
    }

    /// <summary>The length of the current (or last) hold in Stopwatch ticks; for tests.</summary>
    internal long HoldTicks => Volatile.Read(ref _hold);

    internal static long MinHoldTicks => s_minHold;

    internal static long MaxHoldTicks => s_maxHold;
}
