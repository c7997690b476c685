using System.Threading;

namespace Moat.Sentry.Kernel;

/// <summary>
/// A task's futex state: its reusable wait-list entry, its robust futex list, and what Linux's mm_release does
/// for futexes when the task leaves its memory (exit_robust_list, then clear_child_tid).
/// </summary>
internal sealed partial class Task
{
    /// <summary>Linux's ROBUST_LIST_LIMIT: a longer (or circular) list is cut short.</summary>
    public const int RobustListLimit = 2048;

    private const uint FUTEX_WAITERS = Futex.FUTEX_WAITERS;
    private const uint FUTEX_OWNER_DIED = Futex.FUTEX_OWNER_DIED;
    private const uint FUTEX_TID_MASK = Futex.FUTEX_TID_MASK;

    private Futex.Waiter? _futexWaiter;
    private ulong _robustListHead;

    /// <summary>This task's entry in futex wait lists, made on first use.</summary>
    public Futex.Waiter FutexWaiter => _futexWaiter ??= new Futex.Waiter(this);

    /// <summary>set_robust_list(2)'s head. Written by the task; read by get_robust_list from any thread.</summary>
    public ulong RobustListHead
    {
        get => Volatile.Read(ref _robustListHead);
        set => Volatile.Write(ref _robustListHead, value);
    }

    /// <summary>
    /// What the task owes futex users when it leaves its memory (exit, or execve after the other threads are
    /// gone): locks on the robust list get FUTEX_OWNER_DIED and a waiter is woken; then, if other tasks still
    /// run in the memory, clear_child_tid is zeroed and woken (a shared wake: pthread_join waits that way).
    /// </summary>
    public void ReleaseFutexes()
    {
        ExitRobustList();
        Kernel.Futexes.ExitPiOwner(this);
        ulong tidAddr = ClearChildTid;
        if (tidAddr != 0)
        {
            ClearChildTid = 0;
            if (MM.Users > 1)
            {
                MM.CopyOut(tidAddr, 0); // as Linux, a bad pointer is the app's problem
                WakeShared(tidAddr);
            }
        }
    }

    // Linux's exit_robust_list: struct robust_list_head is { next, futex_offset, list_op_pending }; each entry
    // points at the next (bit 0: a PI futex), the lock word is at entry + futex_offset. A fault ends the walk.
    private void ExitRobustList()
    {
        ulong head = RobustListHead;
        RobustListHead = 0;
        if (head == 0)
        {
            return;
        }

        if (!FetchRobustEntry(head, out ulong entry, out bool pi) ||
            MM.CopyIn(head + 8, out ulong futexOffset) < 0 ||
            !FetchRobustEntry(head + 16, out ulong pending, out bool pendingPi))
        {
            return;
        }

        int limit = RobustListLimit;
        while (entry != head)
        {
            // Read the link before the lock is released: a woken waiter may change the list.
            bool linked = FetchRobustEntry(entry, out ulong next, out bool nextPi);

            // A pending lock may also be on the list already: handle it once, below.
            if (entry != pending && !HandleFutexDeath(entry + futexOffset, pi, pendingOp: false))
            {
                return;
            }

            if (!linked)
            {
                return;
            }

            entry = next;
            pi = nextPi;
            if (--limit == 0)
            {
                break;
            }
        }

        if (pending != 0)
        {
            HandleFutexDeath(pending + futexOffset, pendingPi, pendingOp: true);
        }
    }

    private bool FetchRobustEntry(ulong addr, out ulong entry, out bool pi)
    {
        long r = MM.CopyIn(addr, out ulong raw);
        entry = raw & ~1UL;
        pi = (raw & 1) != 0;
        return r == 0;
    }

    // Linux's handle_futex_death. Returns false when the word cannot be read or written (the walk stops).
    private bool HandleFutexDeath(ulong addr, bool pi, bool pendingOp)
    {
        if ((addr & 3) != 0)
        {
            return false;
        }

        while (true)
        {
            if (MM.CopyIn(addr, out uint value) < 0)
            {
                return false;
            }

            uint owner = value & FUTEX_TID_MASK;

            // Killed between releasing a lock and waking its waiter, or a waiter killed before taking it:
            // wake someone without marking a lock that nobody holds.
            if (pendingOp && !pi && owner == 0)
            {
                WakeShared(addr);
                return true;
            }

            if (owner != (uint)Tid)
            {
                return true;
            }

            uint marked = (value & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
            if (MM.CompareAndSwapUInt32(addr, value, marked, out uint previous) < 0)
            {
                return false;
            }

            if (previous != value)
            {
                continue; // changed under us: look again
            }

            // A PI futex's waiters are not woken here: ExitPiOwner hands it to the first of them.
            if (!pi && (value & FUTEX_WAITERS) != 0)
            {
                WakeShared(addr);
            }

            return true;
        }
    }

    // FUTEX_WAKE of one waiter without FUTEX_PRIVATE_FLAG, as the kernel's own wakes are.
    private void WakeShared(ulong addr)
    {
        if (FutexKey.Get(MM, addr, isPrivate: false, write: false, out FutexKey key) == 0)
        {
            Kernel.Futexes.Wake(key, 1, Futex.MatchAny);
        }
    }
}
