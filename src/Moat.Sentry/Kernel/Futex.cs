using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Futex wait queues, keyed by <see cref="FutexKey"/>. A waiter sleeps on its own task's wake event, so signals
/// interrupt it; wakers release waiters in FIFO order (Linux queues tasks of equal priority that way).
/// Lock order: _mu &gt; MemoryManager._mu (value checks and atomic operations run under _mu, so a wake cannot
/// slip between a waiter's check and its enqueue). Nothing here allocates once a task and a key have been seen.
/// </summary>
internal sealed partial class Futex
{
    /// <summary>FUTEX_BITSET_MATCH_ANY.</summary>
    public const uint MatchAny = 0xffffffff;

    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly Dictionary<FutexKey, WaitList> _lists = [];
    private readonly Stack<WaitList> _spareLists = new();

    /// <summary>A task's place in a wait list; each task has one and reuses it. Fields are protected by Futex._mu.</summary>
    internal sealed class Waiter
    {
        public Waiter(Task task)
        {
            Task = task;
            IsWoken = () => Woken;
        }

        public Task Task { get; }

        /// <summary>The condition the task blocks on, allocated once.</summary>
        public Func<bool> IsWoken { get; }

        public uint Bitset;
        public WaitList? List;

        /// <summary>In FUTEX_WAIT_REQUEUE_PI: the PI futex it may be requeued to (<see cref="PiKey"/>).</summary>
        public bool RequeuePi;
        public FutexKey PiKey;

        /// <summary>Handed a PI futex whose owner died: the task itself writes its TID into the word.</summary>
        public bool PiFixup;
        public Waiter? Prev;
        public Waiter? Next;

        // Read by the sleeping task without the lock.
        public volatile bool Woken;
    }

    /// <summary>The waiters on one key, oldest first.</summary>
    internal sealed class WaitList
    {
        public FutexKey Key;

        /// <summary>A PI futex's waiters (in _piLists, never reused), and the task the kernel knows owns it.</summary>
        public bool IsPi;
        public Task? PiOwner;
        public Waiter? Head;
        public Waiter? Tail;
    }

    /// <summary>
    /// Implements FUTEX_WAIT(_BITSET): sleeps while the word at <paramref name="addr"/> equals
    /// <paramref name="expected"/>, until woken, interrupted or <paramref name="timeoutMs"/> (-1 = forever) passes.
    /// Returns 0, -EAGAIN, -ETIMEDOUT, -ERESTARTSYS or -EFAULT.
    /// </summary>
    public long Wait(Task t, in FutexKey key, ulong addr, uint expected, uint bitset, int timeoutMs)
    {
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

            w.Bitset = bitset;
            w.Woken = false;
            w.RequeuePi = false;
            Append(ListFor(key), w);
        }

        long r = t.Block(null, w.IsWoken, timeoutMs);
        lock (_mu)
        {
            if (w.Woken)
            {
                return 0;
            }

            Unlink(w);
            return r;
        }
    }

    /// <summary>
    /// Implements FUTEX_WAKE(_BITSET): wakes waiters whose bitset meets <paramref name="bitset"/>, up to
    /// <paramref name="count"/> of them but at least one (Linux's loop wakes before it compares). Returns how many.
    /// </summary>
    public long Wake(in FutexKey key, int count, uint bitset)
    {
        lock (_mu)
        {
            // A PI futex's waiters are woken only by FUTEX_UNLOCK_PI, as in Linux.
            return _piLists.ContainsKey(key) ? -Errno.EINVAL.Value : WakeLocked(key, count, bitset);
        }
    }

    /// <summary>
    /// Implements FUTEX_REQUEUE and, with <paramref name="compare"/>, FUTEX_CMP_REQUEUE: wakes up to
    /// <paramref name="wakeCount"/> waiters on <paramref name="from"/> and moves up to <paramref name="requeueCount"/>
    /// more to <paramref name="to"/>. Returns woken plus moved, -EAGAIN if the word at <paramref name="addr"/> is
    /// not <paramref name="expected"/>, or -EFAULT.
    /// </summary>
    /// <remarks>Preconditions: both counts are non-negative.</remarks>
    public long Requeue(MemoryManager mm, in FutexKey from, ulong addr, in FutexKey to, int wakeCount, int requeueCount, bool compare, uint expected)
    {
        lock (_mu)
        {
            if (compare)
            {
                if (mm.CopyIn(addr, out uint value) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                if (value != expected)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            if (!_lists.TryGetValue(from, out WaitList? src))
            {
                return 0;
            }

            bool sameKey = from == to;
            WaitList? dst = null;
            int count = 0;
            Waiter? w = src.Head;
            while (w != null && count - wakeCount < requeueCount)
            {
                Waiter? next = w.Next;
                if (w.RequeuePi)
                {
                    return -Errno.EINVAL.Value;
                }

                if (++count <= wakeCount)
                {
                    Unlink(w);
                    Release(w);
                }
                else if (!sameKey)
                {
                    // Waiters moved onto their own key keep their place; others go to the back of the new list.
                    dst ??= ListFor(to);
                    Unlink(w);
                    Append(dst, w);
                }

                w = next;
            }

            return count;
        }
    }

    /// <summary>
    /// Implements FUTEX_WAKE_OP: applies <paramref name="op"/> to the word at <paramref name="addr2"/>, wakes up to
    /// <paramref name="count1"/> waiters on <paramref name="key1"/> and, if the comparison with the word's old value
    /// holds, up to <paramref name="count2"/> on <paramref name="key2"/>. Returns the total woken or -errno.
    /// </summary>
    public long WakeOp(MemoryManager mm, in FutexKey key1, in FutexKey key2, ulong addr2, int count1, int count2, FutexWakeOp op)
    {
        lock (_mu)
        {
            long r = op.Apply(mm, addr2, out bool condition);
            if (r < 0)
            {
                return r;
            }

            long woken = WakeLocked(key1, count1, MatchAny);
            if (condition && woken >= 0)
            {
                long more = WakeLocked(key2, count2, MatchAny);
                woken = more < 0 ? more : woken + more;
            }

            return woken;
        }
    }

    // Preconditions: _mu is held.
    private long WakeLocked(in FutexKey key, int count, uint bitset)
    {
        if (!_lists.TryGetValue(key, out WaitList? list))
        {
            return 0;
        }

        int woken = 0;
        Waiter? w = list.Head;
        while (w != null)
        {
            Waiter? next = w.Next;
            if (w.RequeuePi)
            {
                return -Errno.EINVAL.Value; // a FUTEX_WAIT_REQUEUE_PI waiter leaves only by FUTEX_CMP_REQUEUE_PI
            }

            if ((w.Bitset & bitset) != 0)
            {
                Unlink(w);
                Release(w);
                if (++woken >= count)
                {
                    break;
                }
            }

            w = next;
        }

        return woken;
    }

    // Preconditions: _mu is held; w is unlinked.
    private static void Release(Waiter w)
    {
        w.Woken = true;
        w.Task.Wake();
    }

    // The list for key, created (from the spare ones if possible) when no one waits there yet.
    // Preconditions: _mu is held.
    private WaitList ListFor(in FutexKey key)
    {
        if (!_lists.TryGetValue(key, out WaitList? list))
        {
            list = _spareLists.Count > 0 ? _spareLists.Pop() : new WaitList();
            list.Key = key;
            _lists.Add(key, list);
        }

        return list;
    }

    // Preconditions: _mu is held; w is in no list.
    private static void Append(WaitList list, Waiter w)
    {
        w.List = list;
        w.Prev = list.Tail;
        w.Next = null;
        if (list.Tail != null)
        {
            list.Tail.Next = w;
        }
        else
        {
            list.Head = w;
        }

        list.Tail = w;
    }

    // Takes w out of its list, and the list out of the table once empty.
    // Preconditions: _mu is held; w is in a list.
    private void Unlink(Waiter w)
    {
        WaitList list = w.List!;
        if (w.Prev != null)
        {
            w.Prev.Next = w.Next;
        }
        else
        {
            list.Head = w.Next;
        }

        if (w.Next != null)
        {
            w.Next.Prev = w.Prev;
        }
        else
        {
            list.Tail = w.Prev;
        }

        w.List = null;
        w.Prev = null;
        w.Next = null;
        if (list.Head == null && list.IsPi)
        {
            _piLists.Remove(list.Key);
        }
        else if (list.Head == null)
        {
            _lists.Remove(list.Key);
            list.Key = default;
            _spareLists.Push(list);
        }
    }
}
