using System;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Decides when the Sentry gives its spare memory back to the host: once a burst of work has ended. Fed,
/// every tick of <see cref="IdleReclaimer"/>, the bytes the Sentry has allocated in total: a burst is at
/// least <see cref="MinBurstBytes"/> (and at least the heap left live by the last reclaim, so the cost of a
/// full compacting collection stays proportional to the work that preceded it), and the burst has ended
/// when a whole tick allocated less than <see cref="IdleBytesPerTick"/>. The syscall path allocates
/// nothing, so a busy but steady sandbox counts as idle here and is reclaimed once, not again.
/// </summary>
internal sealed class IdleReclaimPolicy
{
    /// <summary>Less work than this leaves too little behind to be worth a full collection.</summary>
    public const long MinBurstBytes = 4 << 20;

    /// <summary>A tick that allocated less than this is quiet.</summary>
    public const long IdleBytesPerTick = 256 << 10;

    private long _lastTotal;
    private long _totalAtReclaim;
    private long _burstBytes = MinBurstBytes;

    /// <summary>
    /// Records the allocated total at a tick; true when memory should be reclaimed now (a burst happened
    /// since the last reclaim and the last tick was quiet).
    /// </summary>
    public bool Tick(long allocatedTotal)
    {
        long sinceTick = allocatedTotal - _lastTotal;
        _lastTotal = allocatedTotal;
        return sinceTick < IdleBytesPerTick && allocatedTotal - _totalAtReclaim >= _burstBytes;
    }

    /// <summary>Records a reclaim: the allocated total after it and the bytes it left live.</summary>
    public void Reclaimed(long allocatedTotal, long liveBytes)
    {
        _lastTotal = allocatedTotal;
        _totalAtReclaim = allocatedTotal;
        _burstBytes = Math.Max(MinBurstBytes, liveBytes);
    }
}
