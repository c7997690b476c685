using System;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// A pipe: a bounded byte queue between a read end and a write end, with Linux's semantics. Reads block
/// while it is empty and a writer exists (EOF once none does); writes of up to PIPE_BUF bytes are atomic;
/// writing with no reader raises SIGPIPE and fails with EPIPE.
/// Lock order: _mu &gt; WaitQueue._mu.
/// </summary>
internal sealed partial class Pipe
{
    /// <summary>Writes of at most this many bytes are never interleaved with other writes.</summary>
    public const int PipeBuf = 4096;

    /// <summary>Linux's default pipe capacity.</summary>
    public const int DefaultCapacity = 65536;

    private static long s_nextInode = 0x1000;

    private readonly Lock _mu = new();

    // Protected by _mu. The ring's storage grows with the data it has held, up to the capacity: most pipes
    // (a shell's, a ping-pong's) never hold more than a page, and a 64 KiB array per pipe2 is GC churn.
    private byte[] _buffer = [];
    private int _capacity = DefaultCapacity;
    private int _head;
    private int _count;
    private int _readers;
    private int _writers;

    public Pipe()
    {
        Inode = Interlocked.Increment(ref s_nextInode);
    }

    /// <summary>Waiters for data (readers) and for room (writers).</summary>
    public WaitQueue ReadersWaiting { get; } = new();

    public WaitQueue WritersWaiting { get; } = new();

    /// <summary>Pollers of either end: notified on any change of data, room or ends.</summary>
    public WaitQueue Events { get; } = new();

    /// <summary>Read ends with O_ASYNC: told of writes (POLL_IN).</summary>
    public FasyncList FasyncReaders { get; } = new();

    /// <summary>Write ends with O_ASYNC: told of reads (POLL_OUT).</summary>
    public FasyncList FasyncWriters { get; } = new();

    /// <summary>The poll events of one end now.</summary>
    public int Readiness(bool reader)
    {
        lock (_mu)
        {
            int r = 0;
            if (reader)
            {
                if (_count > 0)
                {
                    r |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
                }

                if (_writers == 0)
                {
                    r |= PollEvents.POLLHUP;
                }
            }
            else
            {
                if (_capacity - _count >= PipeBuf || (_capacity - _count > 0 && _capacity < PipeBuf))
                {
                    r |= PollEvents.POLLOUT | PollEvents.POLLWRNORM;
                }

                if (_readers == 0)
                {
                    r |= PollEvents.POLLERR;
                }
            }

            return r;
        }
    }

    public long Inode { get; }

    public int Capacity
    {
        get
        {
            lock (_mu)
            {
                return _capacity;
            }
        }
    }

    /// <summary>Bytes waiting to be read.</summary>
    public int Available
    {
        get
        {
            lock (_mu)
            {
                return _count;
            }
        }
    }

    public void Open(bool reader)
    {
        lock (_mu)
        {
            if (reader)
            {
                _readers++;
                ReaderOpens++;
            }
            else
            {
                _writers++;
                WriterOpens++;
            }
        }

        // A named pipe's opener may be waiting for its partner.
        Events.Notify();
    }

    /// <summary>How many times a read end and a write end were opened: a FIFO's opener waits for the other count to move.</summary>
    public int ReaderOpens { get; private set; }

    /// <inheritdoc cref="ReaderOpens"/>
    public int WriterOpens { get; private set; }

    /// <summary>Open read ends, and write ends.</summary>
    public (int Readers, int Writers) Ends
    {
        get
        {
            lock (_mu)
            {
                return (_readers, _writers);
            }
        }
    }

    /// <summary>Whether any end is open.</summary>
    public bool HasEnds
    {
        get
        {
            lock (_mu)
            {
                return _readers + _writers > 0;
            }
        }
    }

    public void Close(bool reader)
    {
        lock (_mu)
        {
            if (reader)
            {
                _readers--;
            }
            else
            {
                _writers--;
            }
        }

        // The other side may be waiting for EOF or for EPIPE.
        ReadersWaiting.Notify();
                    Events.Notify();
        WritersWaiting.Notify();
                    Events.Notify();
    }

    /// <summary>Implements read(2) on the read end.</summary>
    public long Read(Task t, in IoSequence dst, bool nonBlocking)
    {
        ulong count = dst.Total;
        if (count == 0)
        {
            return 0;
        }

        while (true)
        {
            lock (_mu)
            {
                if (_count > 0)
                {
                    // The whole read under _mu, as pipe_read holds pipe->mutex: a readv takes one contiguous
                    // run of the pipe, whatever other readers do.
                    int n = (int)Math.Min((ulong)_count, count);
                    int first = Math.Min(n, _buffer.Length - _head);
                    long r = dst.CopyOut(t.MM, 0, _buffer.AsSpan(_head, first));
                    if (r == 0 && n > first)
                    {
                        r = dst.CopyOut(t.MM, (ulong)first, _buffer.AsSpan(0, n - first));
                    }

                    if (r < 0)
                    {
                        return r;
                    }

                    _head = (_head + n) % _buffer.Length;
                    _count -= n;
                    WritersWaiting.Notify();
                    Events.Notify();
                    return n;
                }

                if (_writers == 0)
                {
                    return 0;
                }

                if (nonBlocking)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long b = t.Block(ReadersWaiting, () => Available > 0 || WriterCount == 0);
            if (b < 0)
            {
                return b;
            }
        }
    }

    private int WriterCount
    {
        get
        {
            lock (_mu)
            {
                return _writers;
            }
        }
    }

    private int ReaderCount
    {
        get
        {
            lock (_mu)
            {
                return _readers;
            }
        }
    }

    /// <summary>Implements write(2) on the write end.</summary>
    public long Write(Task t, in IoSequence src, bool nonBlocking)
    {
        ulong count = src.Total;
        if (count == 0)
        {
            return 0;
        }

        ulong done = 0;
        // Atomic up to PIPE_BUF for the whole call: a writev's iovecs together, as Linux counts iov_iter_count.
        bool atomic = count <= PipeBuf;
        while (true)
        {
            lock (_mu)
            {
                if (_readers == 0)
                {
                    t.SendSignal(Signal.SIGPIPE, t.Group.Pid.In(t.PidNs), t.Credentials.RealUid);
                    return done > 0 ? (long)done : -Errno.EPIPE.Value;
                }

                int room = _capacity - _count;
                ulong want = count - done;
                if (room > 0 && (!atomic || (ulong)room >= want))
                {
                    int n = (int)Math.Min((ulong)room, want);
                    EnsureStorageLocked(_count + n);
                    int tail = (_head + _count) % _buffer.Length;
                    int first = Math.Min(n, _buffer.Length - tail);
                    long r = src.CopyIn(t.MM, done, _buffer.AsSpan(tail, first));
                    if (r == 0 && n > first)
                    {
                        r = src.CopyIn(t.MM, done + (ulong)first, _buffer.AsSpan(0, n - first));
                    }

                    if (r < 0)
                    {
                        return done > 0 ? (long)done : r;
                    }

                    _count += n;
                    done += (ulong)n;
                    ReadersWaiting.Notify();
                    Events.Notify();
                    if (done == count)
                    {
                        return (long)done;
                    }
                }

                if (nonBlocking)
                {
                    return done > 0 ? (long)done : -Errno.EAGAIN.Value;
                }
            }

            ulong need = atomic ? count : 1;
            long b = t.Block(WritersWaiting, () => (ulong)(Capacity - Available) >= need || ReaderCount == 0);
            if (b < 0)
            {
                return done > 0 ? (long)done : b;
            }
        }
    }

    /// <summary>Implements F_SETPIPE_SZ: returns the new capacity or -errno.</summary>
    /// <remarks>
    /// pipe_set_size: the argument is an unsigned int; below a page it is a page, above 2^31 EINVAL, otherwise the
    /// next power of two; growing past fs.pipe-max-size (1 MiB) needs CAP_SYS_RESOURCE (EPERM). The ring is a
    /// managed array, so a privileged size above 1 GiB answers ENOMEM.
    /// </remarks>
    public long Resize(long arg, bool capResource = false)
    {
        uint size = (uint)arg;
        if (size > 1U << 31)
        {
            return -Errno.EINVAL.Value;
        }

        ulong rounded = size < PipeBuf ? PipeBuf : System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)size);
        if (rounded > (ulong)Capacity && rounded > 1048576 && !capResource)
        {
            return -Errno.EPERM.Value;
        }

        if (rounded > 1 << 30)
        {
            return -Errno.ENOMEM.Value;
        }

        int capacity = (int)rounded;
        lock (_mu)
        {
            if (capacity < _count)
            {
                return -Errno.EBUSY.Value;
            }

            _capacity = capacity;
            if (_buffer.Length > capacity)
            {
                MoveToStorageLocked(capacity);
            }

            return capacity;
        }
    }

    // Grows the ring's storage to hold at least needed bytes (a power of two from a page up to the capacity).
    private void EnsureStorageLocked(int needed)
    {
        if (needed > _buffer.Length)
        {
            MoveToStorageLocked(Math.Min(_capacity, Math.Max(PipeBuf, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)needed))));
        }
    }

    // Moves the data, in order, to the start of new storage of the given size.
    private void MoveToStorageLocked(int size)
    {
        var next = new byte[size];
        int first = Math.Min(_count, _buffer.Length - _head);
        if (_count > 0)
        {
            _buffer.AsSpan(_head, first).CopyTo(next);
            _buffer.AsSpan(0, _count - first).CopyTo(next.AsSpan(first));
        }

        _buffer = next;
        _head = 0;
    }
}
