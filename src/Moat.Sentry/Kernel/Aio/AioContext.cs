using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Kernel.Aio;

/// <summary>
/// One io_setup context (Linux's kioctx): the completion ring in MemoryFile pages that the process maps
/// shared (an aio_ring header, then io_events; libaio reads it from user space), the requests in flight and
/// the tasks waiting in io_getevents. The Sentry writes the ring through its own pages, not the process's
/// mapping, so a completion lands even if the mapping moved or went; the context holds one reference on
/// the pages until it is dead and nothing is in flight.
/// Lock order: _mu &gt; MemoryManager._mu (events are copied out under it) and &gt; WaitQueue._mu; an eventfd
/// is signalled after _mu is released.
/// </summary>
internal sealed class AioContext
{
    private const int EventSize = 32;

    // Header words of struct aio_ring.
    private const int HeaderId = 0;
    private const int HeaderNr = 1;
    private const int HeaderHead = 2;
    private const int HeaderTail = 3;
    private const int HeaderMagic = 4;
    private const int HeaderCompat = 5;
    private const int HeaderIncompat = 6;
    private const int HeaderLength = 7;

    private readonly Lock _mu = new();
    private readonly MemoryFile _memoryFile;

    // Protected by _mu.
    private uint _tail;
    private int _inFlight;
    private bool _dead;
    private bool _released;
    private readonly List<AioPollRequest> _active = [];

    /// <summary>Takes over one reference on the zeroed ring pages [ringOffset, ringOffset+ringLength) and writes the header.</summary>
    public AioContext(MemoryFile memoryFile, long ringOffset, ulong ringLength, ulong userId, uint nrEvents, uint maxReqs)
    {
        _memoryFile = memoryFile;
        RingOffset = ringOffset;
        RingLength = ringLength;
        UserId = userId;
        NrEvents = nrEvents;
        MaxReqs = maxReqs;
        Span<uint> h = Header();
        h[HeaderId] = uint.MaxValue;
        h[HeaderNr] = nrEvents;
        h[HeaderHead] = 0;
        h[HeaderTail] = 0;
        h[HeaderMagic] = AioConst.AIO_RING_MAGIC;
        h[HeaderCompat] = AioConst.AIO_RING_COMPAT_FEATURES;
        h[HeaderIncompat] = AioConst.AIO_RING_INCOMPAT_FEATURES;
        h[HeaderLength] = AioConst.AioRingHeaderSize;
    }

    /// <summary>The ring's MemoryFile pages. Immutable.</summary>
    public long RingOffset { get; }

    public ulong RingLength { get; }

    /// <summary>The aio_context_t: where the ring was mapped (Linux's user_id). Immutable.</summary>
    public ulong UserId { get; }

    /// <summary>How many io_events the ring holds (the trusted copy of its nr). Immutable.</summary>
    public uint NrEvents { get; }

    /// <summary>What io_setup asked for, counted in aio-nr. Immutable.</summary>
    public uint MaxReqs { get; }

    /// <summary>Tasks in io_getevents sleep here; every completion and the context's death notify it.</summary>
    public WaitQueue Queue { get; } = new();

    public bool Dead
    {
        get
        {
            lock (_mu)
            {
                return _dead;
            }
        }
    }

    /// <summary>Whether the ring shows events not yet reaped (head != tail, as the process may have moved head).</summary>
    public bool HasEvents
    {
        get
        {
            lock (_mu)
            {
                if (_released)
                {
                    return false;
                }

                Span<uint> h = Header();
                return Volatile.Read(ref h[HeaderHead]) != Volatile.Read(ref h[HeaderTail]);
            }
        }
    }

    /// <summary>Writes the context's index in its address space's table into the ring (ring->id).</summary>
    public void SetId(uint id)
    {
        lock (_mu)
        {
            Header()[HeaderId] = id;
        }
    }

    /// <summary>
    /// Reserves a ring slot for a new request: false (EAGAIN) when the requests in flight and the events not
    /// yet reaped would fill the ring (nr_events - 1 slots, as Linux's reqs_available).
    /// </summary>
    public bool TryReserve()
    {
        lock (_mu)
        {
            if (_dead)
            {
                return false;
            }

            Span<uint> h = Header();
            uint head = Volatile.Read(ref h[HeaderHead]) % NrEvents;
            uint queued = (_tail + NrEvents - head) % NrEvents;
            if ((long)_inFlight + queued >= NrEvents - 1)
            {
                return false;
            }

            _inFlight++;
            return true;
        }
    }

    /// <summary>Gives back a slot whose request was refused at submission.</summary>
    public void Unreserve()
    {
        lock (_mu)
        {
            _inFlight--;
            ReleaseIfUnusedLocked();
        }
    }

    /// <summary>
    /// Linux's aio_complete: puts the request's io_event at the ring's tail, signals its eventfd (if any) and
    /// wakes io_getevents. A request finishing after the context died and let its pages go is dropped.
    /// </summary>
    public void Complete(ulong obj, ulong data, long res, EventFd? eventFd)
    {
        lock (_mu)
        {
            if (!_released)
            {
                var ev = new IoEvent { data = data, obj = obj, res = res, res2 = 0 };
                Span<byte> slot = _memoryFile.SpanAt(RingOffset + ((1 + (long)_tail) * EventSize), EventSize);
                MemoryMarshal.Write(slot, in ev);
                _tail = (_tail + 1) % NrEvents;
                Volatile.Write(ref Header()[HeaderTail], _tail);
            }

            _inFlight--;
            ReleaseIfUnusedLocked();
        }

        eventFd?.Signal();
        Queue.Notify();
    }

    /// <summary>
    /// Linux's aio_read_events_ring: copies up to <paramref name="max"/> events from head to tail to
    /// <paramref name="addr"/> and advances head. Returns how many, or -EFAULT (head unchanged).
    /// </summary>
    public long ReadEvents(MemoryManager mm, ulong addr, long max)
    {
        lock (_mu)
        {
            if (_released || max <= 0)
            {
                return 0;
            }

            Span<uint> h = Header();
            uint head = Volatile.Read(ref h[HeaderHead]);
            uint tail = Volatile.Read(ref h[HeaderTail]);
            if (head == tail)
            {
                return 0;
            }

            head %= NrEvents;
            tail %= NrEvents;
            long n = 0;
            while (n < max && head != tail)
            {
                long avail = Math.Min((head <= tail ? tail : NrEvents) - head, max - n);
                ReadOnlySpan<byte> events = _memoryFile.SpanAt(RingOffset + ((1 + (long)head) * EventSize), (int)avail * EventSize);
                if (mm.CopyOut(addr + ((ulong)n * EventSize), events) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                n += avail;
                head = (uint)((head + avail) % NrEvents);
            }

            Volatile.Write(ref h[HeaderHead], head);
            return n;
        }
    }

    /// <summary>Records a poll request that waits for its file (io_cancel and the context's death can end it).</summary>
    public void AddActive(AioPollRequest r)
    {
        lock (_mu)
        {
            _active.Add(r);
        }
    }

    public void RemoveActive(AioPollRequest r)
    {
        lock (_mu)
        {
            _active.Remove(r);
        }
    }

    /// <summary>Linux's io_cancel: cancels the waiting request submitted from <paramref name="obj"/>; false when there is none.</summary>
    public bool Cancel(ulong obj)
    {
        AioPollRequest? found = null;
        lock (_mu)
        {
            foreach (AioPollRequest r in _active)
            {
                if (r.Obj == obj)
                {
                    found = r;
                    break;
                }
            }
        }

        return found != null && found.Cancel();
    }

    /// <summary>
    /// Linux's kill_ioctx: marks the context dead (false if it already was), cancels the requests that wait,
    /// and wakes io_getevents (which answers EINVAL).
    /// </summary>
    public bool Kill()
    {
        AioPollRequest[] waiting;
        lock (_mu)
        {
            if (_dead)
            {
                return false;
            }

            _dead = true;
            waiting = _active.ToArray();
        }

        foreach (AioPollRequest r in waiting)
        {
            r.Cancel();
        }

        lock (_mu)
        {
            ReleaseIfUnusedLocked();
        }

        Queue.Notify();
        return true;
    }

    // Drops the context's reference on the ring pages once it is dead and no request can complete into them.
    // Preconditions: _mu is held.
    private void ReleaseIfUnusedLocked()
    {
        if (_dead && _inFlight == 0 && !_released)
        {
            _released = true;
            _memoryFile.Free(RingOffset, RingLength);
        }
    }

    private Span<uint> Header() => MemoryMarshal.Cast<byte, uint>(_memoryFile.SpanAt(RingOffset, AioConst.AioRingHeaderSize));
}
