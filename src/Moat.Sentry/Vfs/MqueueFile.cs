using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Ipc;

namespace Moat.Sentry.Vfs;

/// <summary>
/// A message queue descriptor (mq_open): an open file description of a queue, so close, dup, fork, poll,
/// select and epoll work on it as on Linux. read(2) shows the queue's state line (mqueue_read_file); writes
/// are EINVAL, as the mqueue file system has no write.
/// </summary>
internal sealed class MqueueFile : FileDescription
{
    private readonly MqRegistry _registry;

    // The file offset of read(2) and lseek; the queue keeps its own state.
    private readonly System.Threading.Lock _offsetMu = new();
    private long _offset;

    public MqueueFile(MqRegistry registry, PosixMessageQueue queue, int oflag)
    {
        _registry = registry;
        Queue = queue;
        StatusFlags = oflag & (OpenFlags.O_ACCMODE | OpenFlags.O_NONBLOCK);
    }

    public PosixMessageQueue Queue { get; }

    /// <summary>Linux's FMODE_READ / FMODE_WRITE: O_RDWR|O_WRONLY (3) opens neither.</summary>
    public bool Readable => (StatusFlags & OpenFlags.O_ACCMODE) is OpenFlags.O_RDONLY or OpenFlags.O_RDWR;

    public bool Writable => (StatusFlags & OpenFlags.O_ACCMODE) is OpenFlags.O_WRONLY or OpenFlags.O_RDWR;

    public bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    /// <summary>mq_setattr: only O_NONBLOCK changes.</summary>
    public void SetNonBlocking(bool on) =>
        StatusFlags = on ? StatusFlags | OpenFlags.O_NONBLOCK : StatusFlags & ~OpenFlags.O_NONBLOCK;

    public override WaitQueue? ReadinessQueue => Queue.Events;

    public override int Readiness(int events) => Queue.Readiness(events);

    public override bool Positional => true;

    public override long Read(Task t, in IoSequence dst, long offset)
    {
        if (offset >= 0)
        {
            return ReadAt(t, dst, offset);
        }

        lock (_offsetMu)
        {
            long n = ReadAt(t, dst, _offset);
            if (n > 0)
            {
                _offset += n;
            }

            return n;
        }
    }

    /// <summary>default_llseek over a file of FILENT_SIZE bytes.</summary>
    public override long Seek(long offset, int whence)
    {
        lock (_offsetMu)
        {
            long pos = whence switch
            {
                0 => offset,
                1 => _offset + offset,
                2 => MqConst.FILENT_SIZE + offset,
                _ => -1,
            };
            if (whence is < 0 or > 2)
            {
                return -Errno.EINVAL.Value;
            }

            if (pos < 0)
            {
                return -Errno.EINVAL.Value;
            }

            _offset = pos;
            return pos;
        }
    }

    // The queue's state line from offset on (simple_read_from_buffer).
    private long ReadAt(Task t, in IoSequence dst, long offset)
    {
        if (!Readable)
        {
            return -Errno.EBADF.Value;
        }

        byte[] line = LinuxString.Encoding.GetBytes(Queue.Describe(t.PidNs));
        if (offset >= line.Length || dst.Total == 0)
        {
            return 0;
        }

        int n = (int)Math.Min((ulong)(line.Length - offset), dst.Total);
        return dst.CopyOutPartial(t.MM, 0, line.AsSpan((int)offset, n));
    }

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) => Writable ? -Errno.EINVAL.Value : -Errno.EBADF.Value;

    public override long Stat(out Stat st)
    {
        st = Queue.FileStat();
        return 0;
    }

    /// <summary>Closing any descriptor of the queue ends the closing process's notification (mqueue_flush_file).</summary>
    public override void Flush(Task? t)
    {
        if (t != null)
        {
            Queue.Flush(t.Group);
        }
    }

    protected override void Release()
    {
        if (Queue.DecOpen())
        {
            _registry.Free(Queue);
        }
    }
}
