using System;
using System.Collections.Generic;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// A one-shot timer of the stack (retransmission, delayed ACK, TIME-WAIT, ARP, reassembly). Re-arming is cheap
/// and allocation-free: moving a deadline later leaves the queued entry alone, which re-queues itself when it
/// comes due (the pattern of Linux's sk_reset_timer on a still-pending timer, done lazily).
/// </summary>
internal sealed class StackTimer
{
    private readonly Action _fire;

    public StackTimer(Action fire) => _fire = fire;

    /// <summary>When the timer fires, if <see cref="Armed"/>. Protected by the stack's lock.</summary>
    public long Deadline { get; internal set; }

    public bool Armed { get; internal set; }

    // The deadline of this timer's live entry in the queue, if Queued; older entries are stale.
    internal long QueuedAt;
    internal bool Queued;

    internal void Fire() => _fire();
}

/// <summary>
/// The stack's timers in a binary heap ordered by deadline, run by <see cref="RunExpired"/> with the time of
/// the stack's clock, so a fake clock drives them in tests. Protected by the stack's lock.
/// </summary>
internal sealed class TimerQueue
{
    private readonly PriorityQueue<StackTimer, long> _heap = new();

    /// <summary>
    /// When the thread that runs these timers (<see cref="StackDriver"/>) wakes next (long.MaxValue: when kicked);
    /// a timer queued before it calls <see cref="Wake"/>, so an idle stack needs no periodic wake-up.
    /// </summary>
    internal long WakeAt = long.MaxValue;

    /// <summary>Kicks the driver; null without one (tests drive the timers themselves).</summary>
    internal Action? Wake;

    public void Arm(StackTimer t, long deadline)
    {
        t.Deadline = deadline;
        t.Armed = true;
        if (!t.Queued || deadline < t.QueuedAt)
        {
            t.Queued = true;
            t.QueuedAt = deadline;
            _heap.Enqueue(t, deadline);
            if (deadline < WakeAt)
            {
                WakeAt = deadline;
                Wake?.Invoke();
            }
        }
    }

    /// <summary>Arms <paramref name="t"/> unless it is armed already (keeps the earlier deadline).</summary>
    public void ArmIfIdle(StackTimer t, long deadline)
    {
        if (!t.Armed)
        {
            Arm(t, deadline);
        }
    }

    public static void Cancel(StackTimer t) => t.Armed = false;

    /// <summary>The earliest deadline of an armed timer, or <see cref="long.MaxValue"/>.</summary>
    public long NextDeadline
    {
        get
        {
            while (_heap.TryPeek(out StackTimer? t, out long at))
            {
                if (t.Queued && t.QueuedAt == at && t.Armed)
                {
                    return at; // the real deadline may be later: the entry re-queues itself then
                }
                _heap.Dequeue();
                if (t.Queued && t.QueuedAt == at)
                {
                    t.Queued = false;
                }
            }
            return long.MaxValue;
        }
    }

    /// <summary>Fires every timer whose deadline is at or before <paramref name="now"/>; returns how many fired.</summary>
    public int RunExpired(long now)
    {
        int fired = 0;
        while (_heap.TryPeek(out StackTimer? t, out long at) && at <= now)
        {
            _heap.Dequeue();
            if (!t.Queued || t.QueuedAt != at)
            {
                continue; // stale: a later Arm queued an earlier entry
            }
            t.Queued = false;
            if (!t.Armed)
            {
                continue;
            }
            if (t.Deadline > now)
            {
                t.Queued = true;
                t.QueuedAt = t.Deadline;
                _heap.Enqueue(t, t.Deadline);
                continue;
            }
            t.Armed = false;
            t.Fire();
            fired++;
        }
        return fired;
    }
}
