using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Priority-inheritance futexes with Linux's word protocol: the word holds the owner's TID, FUTEX_WAITERS
/// once a task waits in the kernel (so the owner's unlock comes to FUTEX_UNLOCK_PI) and FUTEX_OWNER_DIED
/// after the owner died holding it. The kernel hands the lock from owner to waiter directly (the word then
/// names the waiter), in FIFO order. No priority is inherited: the host schedules every task's thread alike,
/// as for sched_setscheduler, so there is no priority to lend.
/// </summary>
internal sealed partial class Futex
{
    public const uint FUTEX_WAITERS = 0x8000_0000;
    public const uint FUTEX_OWNER_DIED = 0x4000_0000;
    public const uint FUTEX_TID_MASK = 0x3fff_ffff;

    // PI futexes with tasks waiting in the kernel (Linux's pi_state). Protected by _mu.
    private readonly Dictionary<FutexKey, WaitList> _piLists = [];

    /// <summary>
    /// Implements FUTEX_LOCK_PI, FUTEX_LOCK_PI2 and (<paramref name="tryLock"/>) FUTEX_TRYLOCK_PI. Returns 0
    /// holding the lock, -EDEADLK (the caller owns it), -ESRCH (the word names no live task), -EAGAIN (trylock
    /// of a held lock), -EINVAL (plain waiters on the word), -ETIMEDOUT, -ERESTARTNOINTR or -EFAULT.
    /// </summary>
    public long LockPi(Task t, in FutexKey key, ulong addr, int timeoutMs, bool tryLock)
    {
        Waiter w = t.FutexWaiter;
        long r = EnqueuePi(t, w, key, addr, tryLock);
        if (r != 1)
        {
            return r;
        }

        r = t.Block(null, w.IsWoken, timeoutMs);
        lock (_mu)
        {
            if (w.Woken)
            {
                return FixupOwnerLocked(t, w, addr);
            }

            Unlink(w);
            return r == -Errno.ERESTARTSYS.Value ? -Errno.ERESTARTNOINTR.Value : r;
        }
    }

    // Takes the lock (0), queues w behind its owner (1) or answers an error. The owner is looked up outside _mu
    // (Kernel.TreeMu is not taken under it); the word is read again under _mu and the lookup redone if it moved.
    private long EnqueuePi(Task t, Waiter w, in FutexKey key, ulong addr, bool tryLock)
    {
        uint tid = (uint)t.Tid;
        while (true)
        {
            if (t.MM.CopyIn(addr, out uint seen) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            uint ownerTid = seen & FUTEX_TID_MASK;
            Task? owner = ownerTid == 0 || ownerTid == tid ? null : t.Kernel.FindTask((int)ownerTid);
            lock (_mu)
            {
                if (t.MM.CopyIn(addr, out uint value) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                if (value != seen)
                {
                    continue;
                }

                if (ownerTid == tid)
                {
                    return -Errno.EDEADLK.Value;
                }

                if (_lists.ContainsKey(key))
                {
                    return -Errno.EINVAL.Value; // plain FUTEX_WAIT waiters on a PI word
                }

                if (!_piLists.TryGetValue(key, out WaitList? list))
                {
                    if (ownerTid == 0)
                    {
                        // Free (perhaps with FUTEX_OWNER_DIED or a stale FUTEX_WAITERS): take it, keeping OWNER_DIED.
                        long c = Cas(t.MM, addr, value, (value & FUTEX_OWNER_DIED) | tid);
                        if (c == 1)
                        {
                            continue;
                        }

                        return c;
                    }

                    // The first waiter sets FUTEX_WAITERS before it looks for the owner, as Linux does.
                    if ((value & FUTEX_WAITERS) == 0)
                    {
                        long c = Cas(t.MM, addr, value, value | FUTEX_WAITERS);
                        if (c != 0)
                        {
                            if (c == 1)
                            {
                                continue;
                            }

                            return c;
                        }
                    }

                    if (owner == null || owner.Exit != null)
                    {
                        return -Errno.ESRCH.Value;
                    }

                    if (tryLock)
                    {
                        return -Errno.EAGAIN.Value;
                    }

                    list = new WaitList { Key = key, IsPi = true, PiOwner = owner };
                    _piLists.Add(key, list);
                }
                else if (tryLock)
                {
                    return -Errno.EAGAIN.Value;
                }

                w.Bitset = MatchAny;
                w.Woken = false;
                w.RequeuePi = false;
                w.PiFixup = false;
                Append(list, w);
                return 1;
            }
        }
    }

    /// <summary>
    /// Implements FUTEX_UNLOCK_PI: the caller must own the word (EPERM otherwise); the first waiter becomes the
    /// owner (the word: its TID with FUTEX_WAITERS) or, with none, the word becomes 0.
    /// </summary>
    public long UnlockPi(Task t, in FutexKey key, ulong addr)
    {
        lock (_mu)
        {
            while (true)
            {
                if (t.MM.CopyIn(addr, out uint value) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                if ((value & FUTEX_TID_MASK) != (uint)t.Tid)
                {
                    return -Errno.EPERM.Value;
                }

                if (!_piLists.TryGetValue(key, out WaitList? list))
                {
                    // No waiter in the kernel: neither FUTEX_WAITERS nor FUTEX_OWNER_DIED is kept.
                    long c = Cas(t.MM, addr, value, 0);
                    if (c == 1)
                    {
                        continue;
                    }

                    return c;
                }

                Waiter next = list.Head!;
                long r = Cas(t.MM, addr, value, FUTEX_WAITERS | (uint)next.Task.Tid);
                if (r == 1)
                {
                    continue;
                }

                if (r < 0)
                {
                    return r;
                }

                list.PiOwner = next.Task;
                Unlink(next);
                Release(next);
                return 0;
            }
        }
    }

    /// <summary>
    /// Implements FUTEX_WAIT_REQUEUE_PI: waits on the plain futex at <paramref name="addr"/> (while it holds
    /// <paramref name="expected"/>) until FUTEX_CMP_REQUEUE_PI gives it the PI futex <paramref name="piKey"/>
    /// or queues it there. Returns 0 holding the PI futex, -EAGAIN (the word changed, or interrupted after the
    /// requeue), -ETIMEDOUT, -ERESTARTNOINTR (interrupted before it), -EINVAL or -EFAULT.
    /// </summary>
    public long WaitRequeuePi(Task t, in FutexKey key, ulong addr, uint expected, in FutexKey piKey, ulong piAddr, int timeoutMs)
    {
        if (key == piKey)
        {
            return -Errno.EINVAL.Value;
        }

        Waiter w = t.FutexWaiter;
        lock (_mu)
        {
            if (t.MM.CopyIn(addr, out uint value) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (value != expected)
            {
                return -Errno.EAGAIN.Value;
            }

            w.Bitset = MatchAny;
            w.Woken = false;
            w.RequeuePi = true;
            w.PiKey = piKey;
            w.PiFixup = false;
            Append(ListFor(key), w);
        }

        long r = t.Block(null, w.IsWoken, timeoutMs);
        lock (_mu)
        {
            w.RequeuePi = false;
            if (w.Woken)
            {
                return FixupOwnerLocked(t, w, piAddr);
            }

            bool requeued = w.List!.IsPi;
            Unlink(w);
            if (r == -Errno.ETIMEDOUT.Value)
            {
                return r;
            }

            // Requeued, it cannot start again (the plain word moved on): Linux answers EWOULDBLOCK.
            return requeued ? -Errno.EAGAIN.Value : -Errno.ERESTARTNOINTR.Value;
        }
    }

    /// <summary>
    /// Implements FUTEX_CMP_REQUEUE_PI: if the word at <paramref name="addr"/> holds <paramref name="expected"/>,
    /// takes the PI futex for the first FUTEX_WAIT_REQUEUE_PI waiter and wakes it if the futex is free, then
    /// queues up to <paramref name="requeueCount"/> waiters on the PI futex. Returns how many were woken or
    /// queued, or -errno.
    /// </summary>
    public long CmpRequeuePi(Task t, in FutexKey key, ulong addr, uint expected, in FutexKey piKey, ulong piAddr, int requeueCount)
    {
        if (key == piKey)
        {
            return -Errno.EINVAL.Value;
        }

        while (true)
        {
            if (t.MM.CopyIn(piAddr, out uint seen) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            uint ownerTid = seen & FUTEX_TID_MASK;
            Task? owner = ownerTid == 0 ? null : t.Kernel.FindTask((int)ownerTid);
            lock (_mu)
            {
                long r = CmpRequeuePiLocked(t, key, addr, expected, piKey, piAddr, requeueCount, seen, owner);
                if (r != long.MinValue)
                {
                    return r;
                }
            }
        }
    }

    // long.MinValue: the PI word moved since the owner was looked up; look again.
    private long CmpRequeuePiLocked(Task t, in FutexKey key, ulong addr, uint expected, in FutexKey piKey, ulong piAddr, int requeueCount, uint seen, Task? owner)
    {
        if (t.MM.CopyIn(addr, out uint value) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (value != expected)
        {
            return -Errno.EAGAIN.Value;
        }

        if (t.MM.CopyIn(piAddr, out uint piValue) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (piValue != seen)
        {
            return long.MinValue;
        }

        if (!_lists.TryGetValue(key, out WaitList? src))
        {
            return 0;
        }

        Waiter top = src.Head!;
        if (!top.RequeuePi || top.PiKey != piKey)
        {
            return -Errno.EINVAL.Value;
        }

        int count = 0;
        _piLists.TryGetValue(piKey, out WaitList? dst);
        Task? newOwner = dst?.PiOwner;
        if (dst == null)
        {
            uint ownerTid = piValue & FUTEX_TID_MASK;
            if (ownerTid == (uint)top.Task.Tid)
            {
                return -Errno.EDEADLK.Value;
            }

            if (ownerTid == 0)
            {
                // Free: the first waiter takes it and goes back to user space holding it.
                long c = Cas(t.MM, piAddr, piValue, (piValue & FUTEX_OWNER_DIED) | FUTEX_WAITERS | (uint)top.Task.Tid);
                if (c != 0)
                {
                    return c == 1 ? long.MinValue : c;
                }

                Unlink(top);
                Release(top);
                newOwner = top.Task;
                count = 1;
            }
            else
            {
                if ((piValue & FUTEX_WAITERS) == 0)
                {
                    long c = Cas(t.MM, piAddr, piValue, piValue | FUTEX_WAITERS);
                    if (c != 0)
                    {
                        return c == 1 ? long.MinValue : c;
                    }
                }

                if (owner == null || owner.Exit != null)
                {
                    return -Errno.ESRCH.Value;
                }

                newOwner = owner;
            }
        }

        // Linux counts the woken waiter against the one it must wake (nr_wake is 1).
        while (count - 1 < requeueCount && _lists.TryGetValue(key, out WaitList? list))
        {
            Waiter w = list.Head!;
            if (!w.RequeuePi || w.PiKey != piKey)
            {
                return -Errno.EINVAL.Value;
            }

            if (dst == null)
            {
                dst = new WaitList { Key = piKey, IsPi = true, PiOwner = newOwner };
                _piLists.Add(piKey, dst);
            }

            Unlink(w);
            Append(dst, w);
            count++;
        }

        return count;
    }

    /// <summary>
    /// What a task's death (or exec) does to the PI futexes it owns: each goes to its first waiter, which writes
    /// its own TID into the word, keeping FUTEX_OWNER_DIED (set by the robust list walk) and FUTEX_WAITERS
    /// (Linux's exit_pi_state_list).
    /// </summary>
    public void ExitPiOwner(Task t)
    {
        lock (_mu)
        {
            if (_piLists.Count == 0)
            {
                return;
            }

            List<WaitList>? owned = null;
            foreach (WaitList list in _piLists.Values)
            {
                if (list.PiOwner == t)
                {
                    (owned ??= []).Add(list);
                }
            }

            if (owned == null)
            {
                return;
            }

            foreach (WaitList list in owned)
            {
                Waiter next = list.Head!;
                list.PiOwner = next.Task;
                next.PiFixup = true;
                Unlink(next);
                Release(next);
            }
        }
    }

    // A waiter given the lock: after an owner's death it writes its own TID into the word. Preconditions: _mu is held.
    private static long FixupOwnerLocked(Task t, Waiter w, ulong addr)
    {
        if (!w.PiFixup)
        {
            return 0;
        }

        w.PiFixup = false;
        while (true)
        {
            if (t.MM.CopyIn(addr, out uint value) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            long c = Cas(t.MM, addr, value, (value & FUTEX_OWNER_DIED) | FUTEX_WAITERS | (uint)t.Tid);
            if (c != 1)
            {
                return c;
            }
        }
    }

    // Compare-and-swap of a futex word: 0 done, 1 the word changed meanwhile, -EFAULT.
    private static long Cas(MemoryManager mm, ulong addr, uint expected, uint value)
    {
        if (mm.CompareAndSwapUInt32(addr, expected, value, out uint previous) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return previous == expected ? 0 : 1;
    }
}
