using System;
using System.Buffers;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>The byte moves behind splice, tee, sendfile and copy_file_range, through a pooled buffer.</summary>
internal static class SpliceIo
{
    private const int ChunkSize = 65536;

    public static bool Readable(FileDescription f) => (f.StatusFlags & OpenFlags.O_ACCMODE) != OpenFlags.O_WRONLY && (f.StatusFlags & OpenFlags.O_PATH) == 0;

    public static bool Writable(FileDescription f) => (f.StatusFlags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY && (f.StatusFlags & OpenFlags.O_PATH) == 0;

    /// <summary>Whether sendfile may read the file directly (Linux wants a regular file or block device).</summary>
    public static bool IsRegularOrBlock(FileDescription f)
    {
        if (f.Stat(out Stat st) < 0)
        {
            return false;
        }

        uint type = st.st_mode & Stat.S_IFMT;
        return type is Stat.S_IFREG or 0x6000; // S_IFBLK
    }

    /// <summary>
    /// Reads into the first <paramref name="length"/> bytes of a Sentry buffer, at <paramref name="offset"/> or the
    /// file offset (-1); EINVAL for a file splice cannot read (no f_op->splice_read).
    /// </summary>
    public static long ReadInto(Task t, FileDescription f, byte[] buf, int length, long offset) =>
        f.CanSpliceRead ? f.Read(t, IoSequence.Sentry(buf, length), offset) : -Errno.EINVAL.Value;

    /// <summary>
    /// Writes the first <paramref name="length"/> bytes of a Sentry buffer, like <see cref="ReadInto"/>. An offset
    /// is taken literally (the callers refuse O_APPEND files, as Linux does).
    /// </summary>
    public static long WriteFrom(Task t, FileDescription f, byte[] buf, int length, long offset) =>
        f.CanSpliceWrite ? f.Write(t, IoSequence.Sentry(buf, length), offset, offset < 0 ? WriteFlags.None : WriteFlags.NoAppend) : -Errno.EINVAL.Value;

    /// <summary>
    /// File to file: up to <paramref name="len"/> bytes, stopping at end of file or a short write. Offsets of -1
    /// use (and advance) the file offset.
    /// </summary>
    public static long FileToFile(Task t, FileDescription inF, long inOffset, FileDescription outF, long outOffset, ulong len)
    {
        byte[] buf = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            ulong done = 0;
            while (done < len)
            {
                int want = (int)Math.Min((ulong)ChunkSize, len - done);
                long r = ReadInto(t, inF, buf, want, inOffset < 0 ? -1 : inOffset + (long)done);
                if (r <= 0)
                {
                    return done > 0 ? (long)done : r;
                }

                long w = WriteFrom(t, outF, buf, (int)r, outOffset < 0 ? -1 : outOffset + (long)done);
                if (w < 0)
                {
                    return done > 0 ? (long)done : w;
                }

                done += (ulong)w;
                if (w < r)
                {
                    break;
                }
            }

            return (long)done;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>
    /// File into a pipe: waits for room once, then fills what room there is. The pipe's lock is held while the
    /// file is read, so every byte read is queued and the file offset only moves by what the pipe took.
    /// </summary>
    public static long FileToPipe(Task t, FileDescription inF, long offset, Pipe p, ulong len, bool nonBlocking)
    {
        long w = p.WaitForRoom(t, nonBlocking);
        if (w < 0)
        {
            return w;
        }

        byte[] buf = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            if (!inF.Positional)
            {
                return StreamToPipe(t, inF, p, buf, len);
            }

            lock (p.Mu)
            {
                ulong done = 0;
                while (done < len && p.RoomLocked > 0)
                {
                    int want = (int)Math.Min((ulong)Math.Min(p.RoomLocked, ChunkSize), len - done);
                    long r = ReadInto(t, inF, buf, want, offset < 0 ? -1 : offset + (long)done);
                    if (r <= 0)
                    {
                        return done > 0 ? (long)done : r;
                    }

                    p.PushLocked(buf.AsSpan(0, (int)r));
                    done += (ulong)r;
                    if (r < want)
                    {
                        break;
                    }
                }

                return (long)done;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    // A socket or tty may block in its read, so it is read without the pipe's lock, once, at most what the
    // pipe has room for; should another writer take that room meanwhile, the bytes wait for room again.
    private static long StreamToPipe(Task t, FileDescription inF, Pipe p, byte[] buf, ulong len)
    {
        int room;
        lock (p.Mu)
        {
            room = p.RoomLocked;
        }

        int want = (int)Math.Min((ulong)Math.Min(room, buf.Length), len);
        long r = ReadInto(t, inF, buf, want, -1);
        if (r <= 0)
        {
            return r;
        }

        long w = p.WriteBuffer(t, buf.AsSpan(0, (int)r), nonBlocking: false);
        return w < 0 ? w : r;
    }

    /// <summary>Pipe into a file: waits for data once, then writes what is queued; bytes leave the pipe only once written.</summary>
    public static long PipeToFile(Task t, Pipe p, FileDescription outF, long offset, ulong len, bool nonBlocking)
    {
        long w = p.WaitForData(t, nonBlocking);
        if (w <= 0)
        {
            return w;
        }

        byte[] buf = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            if (!outF.Positional)
            {
                // A socket or tty may block in its write, so the bytes leave the pipe first and are written
                // without its lock; a failed write loses them, where Linux would leave them queued.
                int n;
                lock (p.Mu)
                {
                    n = p.PeekLocked(buf.AsSpan(0, (int)Math.Min((ulong)ChunkSize, len)));
                    p.ConsumeLocked(n);
                }

                return WriteFrom(t, outF, buf, n, -1);
            }

            lock (p.Mu)
            {
                ulong done = 0;
                while (done < len && p.CountLocked > 0)
                {
                    int n = p.PeekLocked(buf.AsSpan(0, (int)Math.Min((ulong)ChunkSize, len - done)));
                    long r = WriteFrom(t, outF, buf, n, offset < 0 ? -1 : offset + (long)done);
                    if (r < 0)
                    {
                        return done > 0 ? (long)done : r;
                    }

                    p.ConsumeLocked((int)r);
                    done += (ulong)r;
                    if (r < n)
                    {
                        break;
                    }
                }

                return (long)done;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>
    /// Pipe to pipe (splice, or tee when not consuming): waits for input and for room, then moves what both
    /// allow. Both locks are taken in inode order so opposite transfers can't deadlock.
    /// </summary>
    public static long PipeToPipe(Task t, Pipe src, Pipe dst, ulong len, bool nonBlocking, bool consume)
    {
        while (true)
        {
            long w = src.WaitForData(t, nonBlocking);
            if (w <= 0)
            {
                return w;
            }

            w = dst.WaitForRoom(t, nonBlocking);
            if (w < 0)
            {
                return w;
            }

            (Pipe first, Pipe second) = src.Inode < dst.Inode ? (src, dst) : (dst, src);
            lock (first.Mu)
            {
                lock (second.Mu)
                {
                    if (!dst.HasReadersLocked)
                    {
                        t.SendSignal(Signal.SIGPIPE, t.Group.Pid.In(t.PidNs), t.Credentials.RealUid);
                        return -Errno.EPIPE.Value;
                    }

                    int n = (int)Math.Min(len, (ulong)Math.Min(src.CountLocked, dst.RoomLocked));
                    if (n == 0)
                    {
                        continue; // another task got there first: wait again
                    }

                    byte[] buf = ArrayPool<byte>.Shared.Rent(n);
                    try
                    {
                        int k = src.PeekLocked(buf.AsSpan(0, n));
                        k = dst.PushLocked(buf.AsSpan(0, k));
                        if (consume)
                        {
                            src.ConsumeLocked(k);
                        }

                        return k;
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buf);
                    }
                }
            }
        }
    }
}
