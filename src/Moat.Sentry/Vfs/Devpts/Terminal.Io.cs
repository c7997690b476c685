using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Devpts;

/// <summary>Reads, writes and readiness of both sides of the pair.</summary>
internal sealed partial class Terminal
{
    private const int Chunk = 256;

    /// <summary>The master's read: what the replica wrote (and the echoes); EIO once no replica is open.</summary>
    public long MasterRead(Task t, in IoSequence io, bool nonBlocking)
    {
        ulong count = io.Total;
        if (count == 0)
        {
            return 0;
        }

        while (true)
        {
            lock (Mu)
            {
                int n = (int)Math.Min(count, (ulong)Ld.Output.Count);
                if (n > 0)
                {
                    (ReadOnlyMemory<byte> a, ReadOnlyMemory<byte> b) = Ld.Output.Peek(n);
                    if (CopyOut(t, io, a, b) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    Ld.Output.Drop(n);
                    Changed();
                    return n;
                }

                if (ReplicaOpens == 0)
                {
                    return -Errno.EIO.Value;
                }

                if (nonBlocking)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long r = t.Block(Events, () =>
            {
                lock (Mu)
                {
                    return Ld.Output.Count > 0 || ReplicaOpens == 0;
                }
            });
            if (r < 0)
            {
                return r;
            }
        }
    }

    /// <summary>The master's write: input to the line discipline, which may signal the foreground group.</summary>
    public long MasterWrite(Task t, in IoSequence io, bool nonBlocking)
    {
        ulong count = io.Total;
        Span<byte> chunk = stackalloc byte[Chunk];
        ulong done = 0;
        while (done < count)
        {
            int n = (int)Math.Min((ulong)Chunk, count - done);
            if (io.CopyIn(t.MM, done, chunk[..n]) < 0)
            {
                return done > 0 ? (long)done : -Errno.EFAULT.Value;
            }

            int off = 0;
            while (off < n)
            {
                ulong signals = 0;
                int took;
                lock (Mu)
                {
                    took = Ld.Receive(chunk[off..n], ref signals);
                }

                Changed();
                SignalForeground(signals);
                off += took;
                done += (ulong)took;
                if (off < n)
                {
                    if (nonBlocking)
                    {
                        return done > 0 ? (long)done : -Errno.EAGAIN.Value;
                    }

                    long r = t.Block(Events, () =>
                    {
                        lock (Mu)
                        {
                            return !Ld.InputFull;
                        }
                    });
                    if (r < 0)
                    {
                        return done > 0 ? (long)done : r;
                    }
                }
            }
        }

        return (long)done;
    }

    /// <summary>
    /// The replica's read: a line in canonical mode (0 bytes for end-of-file), VMIN/VTIME in non-canonical
    /// mode; EOF once hung up; SIGTTIN for a background group.
    /// </summary>
    public long ReplicaRead(Task t, in IoSequence io, bool nonBlocking)
    {
        ulong count = io.Total;
        lock (Mu)
        {
            if (HungUp)
            {
                return 0;
            }
        }

        long jc = CheckJobControl(t, Signal.SIGTTIN);
        if (jc < 0)
        {
            return jc;
        }

        if (count == 0)
        {
            return 0;
        }

        int max = (int)Math.Min(count, int.MaxValue);
        bool timedOut = false;
        while (true)
        {
            int want;
            int timeout = -1;
            lock (Mu)
            {
                if (HungUp)
                {
                    return 0;
                }

                int n = Ld.Available(max, out bool line);
                bool canon = Ld.Termios.L(Tio.ICANON);
                int vmin = Ld.Termios[Tio.VMIN], vtime = Ld.Termios[Tio.VTIME];
                want = canon ? 0 : vmin == 0 ? 1 : Math.Min(vmin, max);
                if (canon ? line : n > 0 && (n >= want || timedOut))
                {
                    (ReadOnlyMemory<byte> a, ReadOnlyMemory<byte> b) = Ld.PeekInput(n);
                    if (CopyOut(t, io, a, b) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    Ld.Consume(n, line);
                    Changed();
                    return n;
                }

                if (!canon && ((vmin == 0 && vtime == 0) || timedOut))
                {
                    return 0;
                }

                if (nonBlocking)
                {
                    return -Errno.EAGAIN.Value;
                }

                // VTIME: the whole wait without VMIN, the gap after the first byte with it.
                if (!canon && vtime > 0 && (vmin == 0 || n > 0))
                {
                    timeout = vtime * 100;
                }
            }

            long r = t.Block(Events, () =>
            {
                lock (Mu)
                {
                    return HungUp || (Ld.Termios.L(Tio.ICANON) ? Ld.HasLine : Ld.RawCount >= Math.Max(want, 1));
                }
            }, timeout);
            if (r == -Errno.ETIMEDOUT.Value)
            {
                timedOut = true;
                continue;
            }

            if (r < 0)
            {
                return r;
            }
        }
    }

    /// <summary>The replica's write: output processing into what the master reads; EIO once hung up, SIGTTOU under TOSTOP.</summary>
    public long ReplicaWrite(Task t, in IoSequence io, bool nonBlocking)
    {
        ulong count = io.Total;
        bool tostop;
        lock (Mu)
        {
            if (HungUp)
            {
                return -Errno.EIO.Value;
            }

            tostop = Ld.Termios.L(Tio.TOSTOP);
        }

        if (tostop)
        {
            long jc = CheckJobControl(t, Signal.SIGTTOU);
            if (jc < 0)
            {
                return jc;
            }
        }

        Span<byte> chunk = stackalloc byte[Chunk];
        ulong done = 0;
        while (done < count)
        {
            int n = (int)Math.Min((ulong)Chunk, count - done);
            if (io.CopyIn(t.MM, done, chunk[..n]) < 0)
            {
                return done > 0 ? (long)done : -Errno.EFAULT.Value;
            }

            int off = 0;
            while (off < n)
            {
                int took;
                lock (Mu)
                {
                    if (HungUp)
                    {
                        return done > 0 ? (long)done : -Errno.EIO.Value;
                    }

                    took = Ld.Write(chunk[off..n]);
                }

                Changed();
                off += took;
                done += (ulong)took;
                if (off < n)
                {
                    if (nonBlocking)
                    {
                        return done > 0 ? (long)done : -Errno.EAGAIN.Value;
                    }

                    long r = t.Block(Events, () =>
                    {
                        lock (Mu)
                        {
                            return HungUp || Ld.Output.Room >= 8;
                        }
                    });
                    if (r < 0)
                    {
                        return done > 0 ? (long)done : r;
                    }
                }
            }
        }

        return (long)done;
    }

    public int MasterReadiness()
    {
        lock (Mu)
        {
            int r = 0;
            if (Ld.Output.Count > 0)
            {
                r |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
            }

            if (!Ld.InputFull)
            {
                r |= PollEvents.POLLOUT | PollEvents.POLLWRNORM;
            }

            if (ReplicaOpens == 0)
            {
                r |= PollEvents.POLLHUP;
            }

            return r;
        }
    }

    public int ReplicaReadiness()
    {
        lock (Mu)
        {
            if (HungUp)
            {
                return PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLOUT | PollEvents.POLLWRNORM | PollEvents.POLLERR | PollEvents.POLLHUP;
            }

            int r = 0;
            if (Ld.PollReadable)
            {
                r |= PollEvents.POLLIN | PollEvents.POLLRDNORM;
            }

            if (Ld.Output.Room >= 8)
            {
                r |= PollEvents.POLLOUT | PollEvents.POLLWRNORM;
            }

            return r;
        }
    }

    private static long CopyOut(Task t, in IoSequence io, ReadOnlyMemory<byte> a, ReadOnlyMemory<byte> b)
    {
        long r = io.CopyOut(t.MM, 0, a.Span);
        if (r >= 0 && b.Length > 0)
        {
            r = io.CopyOut(t.MM, (ulong)a.Length, b.Span);
        }

        return r;
    }
}
