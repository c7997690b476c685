using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Futex wait queues for private futexes, keyed by (address space, address). A waiter blocks its own task
/// thread; a waker releases up to N waiters whose bitset matches, in FIFO order.
/// Lock order: _mu is a leaf (the value check in Wait runs under _mu, so a wake cannot slip between the
/// check and the enqueue).
/// </summary>
internal sealed class Futex
{
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly Dictionary<(MemoryManager Mm, ulong Addr), LinkedList<Waiter>> _queues = [];

    private sealed class Waiter
    {
        public required uint Bitset { get; init; }

        public ManualResetEventSlim Event { get; } = new(false);

        public bool Woken { get; set; }
    }

    /// <summary>
    /// Implements FUTEX_WAIT(_BITSET): sleeps while *addr == expected, until woken or
    /// <paramref name="timeoutMs"/> (-1 = forever) passes. Returns 0, -EAGAIN, -ETIMEDOUT or -EFAULT.
    /// </summary>
    public long Wait(MemoryManager mm, ulong addr, uint expected, uint bitset, int timeoutMs)
    {
        if ((addr & 3) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        Waiter w;
        LinkedListNode<Waiter> node;
        var key = (mm, addr);
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

            w = new Waiter { Bitset = bitset };
            node = q.AddLast(w);
        }

        bool signalled = w.Event.Wait(timeoutMs);
        lock (_mu)
        {
            if (w.Woken)
            {
                return 0;
            }

            // Timed out: leave the queue.
            LinkedList<Waiter> q = _queues[key];
            q.Remove(node);
            if (q.Count == 0)
            {
                _queues.Remove(key);
            }

            return signalled ? 0 : -Errno.ETIMEDOUT.Value;
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
                    n.Value.Event.Set();
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
