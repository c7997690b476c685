using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Futex wait queues for private futexes, keyed by (address space, address). A waiter sleeps on its own
/// task's wake event, so signals interrupt it; a waker releases up to N waiters whose bitset matches, in
/// FIFO order. Lock order: _mu is a leaf (the value check in Wait runs under _mu, so a wake cannot slip
/// between the check and the enqueue).
/// </summary>
internal sealed class Futex
{
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly Dictionary<(MemoryManager Mm, ulong Addr), LinkedList<Waiter>> _queues = [];

    private sealed class Waiter
    {
        public required Task Task { get; init; }

        public required uint Bitset { get; init; }

        // Written under Futex._mu.
        public volatile bool Woken;
    }

    /// <summary>
    /// Implements FUTEX_WAIT(_BITSET): sleeps while *addr == expected, until woken, interrupted or
    /// <paramref name="timeoutMs"/> (-1 = forever) passes. Returns 0, -EAGAIN, -ETIMEDOUT, -ERESTARTSYS or -EFAULT.
    /// </summary>
    public long Wait(Task t, ulong addr, uint expected, uint bitset, int timeoutMs)
    {
        if ((addr & 3) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        MemoryManager mm = t.MM;
        var key = (mm, addr);
        var w = new Waiter { Task = t, Bitset = bitset };
        LinkedListNode<Waiter> node;
        lock (_mu)
        {
            if (mm.CopyIn(addr, out uint value) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (value != expected)
            {
                return -Errno.EAGAIN.Value;
            }

            if (!_queues.TryGetValue(key, out LinkedList<Waiter>? q))
            {
                q = new LinkedList<Waiter>();
                _queues[key] = q;
            }

            node = q.AddLast(w);
        }

        long r = t.Block(null, () => w.Woken, timeoutMs);
        lock (_mu)
        {
            if (w.Woken)
            {
                return 0;
            }

            LinkedList<Waiter> q = _queues[key];
            q.Remove(node);
            if (q.Count == 0)
            {
                _queues.Remove(key);
            }

            return r;
        }
    }

    /// <summary>Implements FUTEX_WAKE(_BITSET): wakes up to <paramref name="count"/> waiters; returns how many.</summary>
    public long Wake(MemoryManager mm, ulong addr, int count, uint bitset)
    {
        if ((addr & 3) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        int woken = 0;
        lock (_mu)
        {
            if (!_queues.TryGetValue((mm, addr), out LinkedList<Waiter>? q))
            {
                return 0;
            }

            LinkedListNode<Waiter>? n = q.First;
            while (n != null && woken < count)
            {
                LinkedListNode<Waiter>? next = n.Next;
                if ((n.Value.Bitset & bitset) != 0)
                {
                    n.Value.Woken = true;
                    n.Value.Task.Wake();
                    q.Remove(n);
                    woken++;
                }

                n = next;
            }

            if (q.Count == 0)
            {
                _queues.Remove((mm, addr));
            }
        }

        return woken;
    }
}
