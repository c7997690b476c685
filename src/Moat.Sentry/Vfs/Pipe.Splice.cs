using System;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>The pieces splice(2), tee(2) and sendfile(2) use: waits, and byte moves under the pipe's lock.</summary>
internal sealed partial class Pipe
{
    /// <summary>The pipe's lock, for callers that move bytes with the *Locked methods.</summary>
    public Lock Mu => _mu;

    /// <summary>Waits until the pipe holds data: 1, 0 at end of file (no writers), -EAGAIN, or an interruption.</summary>
    public long WaitForData(Task t, bool nonBlocking)
    {
        while (true)
        {
            lock (_mu)
            {
                if (_count > 0)
                {
                    return 1;
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

    /// <summary>Waits until the pipe has room: 1, -EPIPE (with SIGPIPE) when nobody reads, -EAGAIN, or an interruption.</summary>
    public long WaitForRoom(Task t, bool nonBlocking)
    {
        while (true)
        {
            lock (_mu)
            {
                if (_readers == 0)
                {
                    t.SendSignal(Signal.SIGPIPE, t.Group.Pid.In(t.PidNs), t.Credentials.RealUid);
                    return -Errno.EPIPE.Value;
                }

                if (_count < _capacity)
                {
                    return 1;
                }

                if (nonBlocking)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long b = t.Block(WritersWaiting, () => Available < Capacity || ReaderCount == 0);
            if (b < 0)
            {
                return b;
            }
        }
    }

    /// <summary>Writes all of <paramref name="src"/> (a Sentry buffer), waiting for room; returns the bytes queued or -errno.</summary>
    public long WriteBuffer(Task t, ReadOnlySpan<byte> src, bool nonBlocking)
    {
        int done = 0;
        while (done < src.Length)
        {
            long w = WaitForRoom(t, nonBlocking);
            if (w < 0)
            {
                return done > 0 ? done : w;
            }

            lock (_mu)
            {
                done += PushLocked(src[done..]);
            }
        }

        return done;
    }

    // Preconditions for the rest: Mu is held.

    /// <summary>Bytes queued.</summary>
    public int CountLocked => _count;

    /// <summary>Free bytes.</summary>
    public int RoomLocked => _capacity - _count;

    /// <summary>Whether any read end is open.</summary>
    public bool HasReadersLocked => _readers > 0;

    /// <summary>Copies up to dst.Length queued bytes without consuming them.</summary>
    public int PeekLocked(Span<byte> dst)
    {
        int n = Math.Min(dst.Length, _count);
        int first = Math.Min(n, _buffer.Length - _head);
        _buffer.AsSpan(_head, first).CopyTo(dst);
        _buffer.AsSpan(0, n - first).CopyTo(dst[first..]);
        return n;
    }

    /// <summary>Drops the first <paramref name="n"/> queued bytes (n ≤ CountLocked).</summary>
    public void ConsumeLocked(int n)
    {
        if (n == 0)
        {
            return;
        }

        _head = (_head + n) % _buffer.Length;
        _count -= n;
        WritersWaiting.Notify();
        Events.Notify();
    }

    /// <summary>Appends as much of <paramref name="src"/> as fits; returns the bytes taken.</summary>
    public int PushLocked(ReadOnlySpan<byte> src)
    {
        int n = Math.Min(src.Length, _capacity - _count);
        if (n == 0)
        {
            return 0;
        }

        EnsureStorageLocked(_count + n);
        int tail = (_head + _count) % _buffer.Length;
        int first = Math.Min(n, _buffer.Length - tail);
        src[..first].CopyTo(_buffer.AsSpan(tail, first));
        src[first..n].CopyTo(_buffer.AsSpan(0, n - first));
        _count += n;
        ReadersWaiting.Notify();
        Events.Notify();
        return n;
    }
}
