using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>One end of a pipe, as an open file description.</summary>
internal sealed class PipeEnd : FileDescription
{
    private const int F_SETPIPE_SZ = 1031;
    private const int F_GETPIPE_SZ = 1032;
    private const uint FIONREAD = 0x541B;

    public PipeEnd(Pipe pipe, bool reader, int flags)
        : this(pipe, reader, !reader, flags, null, null)
    {
    }

    private PipeEnd(Pipe pipe, bool reads, bool writes, int flags, Tmpfs.TmpfsFifo? fifo, string? path)
    {
        Pipe = pipe;
        IsReader = reads;
        IsWriter = writes;
        _fifo = fifo;
        Path = path;
        StatusFlags = (reads && writes ? OpenFlags.O_RDWR : reads ? OpenFlags.O_RDONLY : OpenFlags.O_WRONLY) | (flags & OpenFlags.O_NONBLOCK);
        if (reads)
        {
            pipe.Open(reader: true);
        }

        if (writes)
        {
            pipe.Open(reader: false);
        }
    }

    // The named pipe this end was opened through, if any (its stat is the node's).
    private readonly Tmpfs.TmpfsFifo? _fifo;

    public Pipe Pipe { get; }

    public bool IsReader { get; }

    public bool IsWriter { get; }

    /// <summary>
    /// Opens a named pipe as fifo_open does: O_RDWR joins both ends; O_WRONLY|O_NONBLOCK without a reader is
    /// ENXIO. Then <see cref="WaitForPartner"/>, outside the file system's lock, waits for the other side.
    /// </summary>
    /// <remarks>Preconditions: the FIFO's file system Mu is held.</remarks>
    public static long OpenFifoLocked(Tmpfs.TmpfsFifo fifo, int flags, string path, out FileDescription? file)
    {
        file = null;
        Pipe pipe = fifo.PipeLocked();
        int acc = flags & OpenFlags.O_ACCMODE;
        if (acc == OpenFlags.O_WRONLY && (flags & OpenFlags.O_NONBLOCK) != 0 && pipe.Ends.Readers == 0)
        {
            return -Errno.ENXIO.Value;
        }

        if (acc == 3)
        {
            return -Errno.EINVAL.Value;
        }

        file = new PipeEnd(pipe, acc != OpenFlags.O_WRONLY, acc != OpenFlags.O_RDONLY, flags, fifo, path);
        return 0;
    }

    /// <summary>
    /// A blocking open of one end of a named pipe waits until the other end is opened (by anyone, even if
    /// it is closed again). Returns 0 or -ERESTARTSYS.
    /// </summary>
    public long WaitForPartner(Task t)
    {
        if (_fifo == null || (IsReader && IsWriter) || (StatusFlags & OpenFlags.O_NONBLOCK) != 0 && IsReader)
        {
            return 0;
        }

        // The count first, then the ends: a partner that comes between them moves the count.
        int seen = IsReader ? Pipe.WriterOpens : Pipe.ReaderOpens;
        (int readers, int writers) = Pipe.Ends;
        if (IsReader ? writers > 0 : readers > 0)
        {
            return 0;
        }

        return t.Block(Pipe.Events, () => (IsReader ? Pipe.WriterOpens : Pipe.ReaderOpens) != seen);
    }

    public override long Read(Task t, in IoSequence dst, long offset) => Read(t, dst, (StatusFlags & OpenFlags.O_NONBLOCK) != 0);

    /// <summary>A read that may be made non-blocking for this call alone (preadv2's RWF_NOWAIT).</summary>
    public long Read(Task t, in IoSequence dst, bool nonBlocking)
    {
        long r = Pipe.Read(t, dst, nonBlocking);

        // pipe_read tells the writers' owners at its end, whatever it read (not when a signal cut its sleep).
        if (dst.Total > 0 && r != -Errno.ERESTARTSYS.Value)
        {
            Pipe.FasyncWriters.Signal(FileAsync.POLL_OUT);
        }

        return r;
    }

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) =>
        Write(t, src, (StatusFlags & OpenFlags.O_NONBLOCK) != 0);

    /// <summary>A write that may be made non-blocking for this call alone (pwritev2's RWF_NOWAIT).</summary>
    public long Write(Task t, in IoSequence src, bool nonBlocking)
    {
        long r = Pipe.Write(t, src, nonBlocking);
        if (src.Total > 0)
        {
            Pipe.FasyncReaders.Signal(FileAsync.POLL_IN);
        }

        return r;
    }

    /// <summary>pipe_fasync: a read end hears of writes, a write end of reads (an O_RDWR FIFO of both).</summary>
    public override bool SetAsync(int fd, bool on)
    {
        if (IsReader)
        {
            Pipe.FasyncReaders.Set(this, fd, on);
        }

        if (IsWriter)
        {
            Pipe.FasyncWriters.Set(this, fd, on);
        }

        SetAsyncFlag(on);
        return true;
    }

    public override long Stat(out Stat st)
    {
        if (_fifo != null)
        {
            lock (_fifo.Fs.Mu)
            {
                st = _fifo.ToStat();
                return 0;
            }
        }

        st = default;
        st.st_mode = Abi.Stat.S_IFIFO | 0x180; // 0600
        st.st_nlink = 1;
        st.st_ino = (ulong)Pipe.Inode;
        st.st_dev = 0xd; // pipefs
        st.st_blksize = 4096;
        return 0;
    }

    public override long Ioctl(Task t, uint request, ulong arg) =>
        request == FIONREAD ? t.MM.CopyOut(arg, Pipe.Available) : -Errno.ENOTTY.Value;

    public override int Readiness(int events)
    {
        int ready = (IsReader ? Pipe.Readiness(true) : 0) | (IsWriter ? Pipe.Readiness(false) : 0);
        return ready & (events | PollEvents.POLLERR | PollEvents.POLLHUP);
    }

    public override WaitQueue? ReadinessQueue => Pipe.Events;

    /// <summary>F_GETPIPE_SZ and F_SETPIPE_SZ.</summary>
    public long PipeSize(int cmd, long arg, bool capResource) => cmd switch
    {
        F_GETPIPE_SZ => Pipe.Capacity,
        F_SETPIPE_SZ => Pipe.Resize(arg, capResource),
        _ => -Errno.EINVAL.Value,
    };

    /// <summary>Changes O_NONBLOCK (F_SETFL).</summary>
    public void SetNonBlocking(bool on) => StatusFlags = on ? StatusFlags | OpenFlags.O_NONBLOCK : StatusFlags & ~OpenFlags.O_NONBLOCK;

    protected override void Release()
    {
        if ((StatusFlags & OpenFlags.O_ASYNC) != 0)
        {
            SetAsync(-1, false);
        }

        if (IsReader)
        {
            Pipe.Close(reader: true);
        }

        if (IsWriter)
        {
            Pipe.Close(reader: false);
        }

        // pipe_release: when one side is left, its owners hear of it.
        (int readers, int writers) = Pipe.Ends;
        if ((readers == 0) != (writers == 0))
        {
            Pipe.FasyncReaders.Signal(FileAsync.POLL_IN);
            Pipe.FasyncWriters.Signal(FileAsync.POLL_OUT);
        }
    }
}
