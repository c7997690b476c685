using System;
using System.Threading;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs;

/// <summary>
/// A file backed by a host fd the Sentry holds: the sandbox's stdio (donated by the host at start-up) and
/// files the gofer opened. Data moves straight between the host fd and the MemoryFile mapping. A file
/// opened from the dentry cache shares its host fd with other opens of the same file, so it keeps its
/// own offset and reads with pread.
/// </summary>
internal sealed unsafe class HostFileDescription : FileDescription
{
    private const uint TCGETS = 0x5401;
    private const uint TIOCGWINSZ = 0x5413;
    private const int KernelTermiosSize = 36;
    private const int WinsizeSize = 8;
    private const int SeekSet = 0;
    private const int SeekCur = 1;
    private const int SeekEnd = 2;
    private const int SeekData = 3;
    private const int SeekHole = 4;

    private readonly SafeFdHandle _fd;

    // Set for an fd shared through the dentry cache: this file holds one reference to it (not ownership)
    // and keeps the offset, under _posMu, since the host fd's own offset is everyone's.
    private readonly Lock? _posMu;
    private long _offset;

    public HostFileDescription(SafeFdHandle fd, int statusFlags, bool shared = false)
    {
        _fd = fd;
        StatusFlags = statusFlags;
        _posMu = shared ? new Lock() : null;
    }

    public int HostFd => _fd.Fd;

    /// <summary>What this file's private mappings read a page they lack from (made at the first mapping).</summary>
    internal HostCache.HostFilePages? PrivatePages;

    /// <summary>The volume this file was opened on; null for the read-only root and the host's stdio.</summary>
    public Volume? Volume { get; init; }

    public override long Read(Task t, in IoSequence dst, long offset) =>
        offset < 0 && _posMu != null ? AtOffset(t, dst, write: false) : Transfer(t, dst, offset, write: false);

    // The host applies O_APPEND itself, at an offset too; RWF_NOAPPEND is not passed on.
    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) =>
        offset < 0 && _posMu != null ? AtOffset(t, src, write: true) : Transfer(t, src, offset, write: true);

    /// <summary>The kernel whose root overlay this host file belongs to (a lower file), for its attributes as the overlay shows them.</summary>
    public Kernel.Kernel? Overlay { get; init; }

    public override long Stat(out Stat st)
    {
        long r = HostFile.Fstat(_fd.Fd, out st);
        if (r == 0 && Overlay != null)
        {
            Vfs.Overlay.AsSeen(Overlay, ref st);
        }

        return r;
    }

    // Regular files, directories and block devices take offsets; ttys, pipes and sockets don't.
    public override bool Positional => IsAlwaysReady() || _kind == (int)Abi.Stat.S_IFBLK;

    public override bool CanSpliceRead => true;

    public override bool CanSpliceWrite => true;

    // Regular files and directories are always ready; ttys, pipes and sockets from the host are asked.
    public override bool PolledFromHost => !IsAlwaysReady();

    public override WaitQueue? ReadinessQueue => PolledFromHost ? null : base.ReadinessQueue;

    public override int Readiness(int events)
    {
        if (IsAlwaysReady())
        {
            return base.Readiness(events);
        }

        // struct pollfd { int fd; short events; short revents; }, polled without waiting.
        long pfd = (uint)_fd.Fd | ((long)(ushort)events << 32);
        long r = HostProcess.Syscall(Sysno.poll, (long)(&pfd), 1, 0);
        return r <= 0 ? 0 : (ushort)(pfd >> 48);
    }

    private bool IsAlwaysReady()
    {
        if (_kind == 0)
        {
            _kind = HostFile.Fstat(_fd.Fd, out Stat st) == 0 ? (int)(st.st_mode & Abi.Stat.S_IFMT) : -1;
        }

        return _kind is (int)Abi.Stat.S_IFREG or (int)Abi.Stat.S_IFDIR;
    }

    // RLIMIT_FSIZE for a write of count bytes to a regular file, at offset (-1: the host fd's own): the bytes
    // that may go, or -EFBIG with its SIGXFSZ sent. Pipes, ttys and sockets have no limit.
    private long TrimToSizeLimit(Task t, ulong count, long offset)
    {
        if (!IsAlwaysReady() || _kind != (int)Abi.Stat.S_IFREG)
        {
            return (long)System.Math.Min(count, long.MaxValue);
        }

        long pos = offset;
        if ((StatusFlags & OpenFlags.O_APPEND) != 0)
        {
            long r = HostFile.Fstat(_fd.Fd, out Stat st);
            if (r < 0)
            {
                return r;
            }

            pos = st.st_size;
        }
        else if (offset < 0)
        {
            pos = HostFile.Seek(_fd.Fd, 0, SeekCur);
            if (pos < 0)
            {
                return pos;
            }
        }

        return FileSizeLimit.TrimAndRaise(t, pos, count);
    }

    // The file type (S_IFMT bits) once known; 0 before.
    private int _kind;

    public override long Seek(long offset, int whence) => _posMu == null ? HostFile.Seek(_fd.Fd, offset, whence) : SeekOwn(offset, whence);

    // read/write at this file's own offset (a shared fd), advancing it as Linux advances f_pos.
    private long AtOffset(Task t, in IoSequence io, bool write)
    {
        if ((StatusFlags & OpenFlags.O_PATH) != 0)
        {
            return -Errno.EBADF.Value;
        }

        lock (_posMu!)
        {
            long n = Transfer(t, io, _offset, write);
            if (n > 0)
            {
                _offset += n;
            }

            return n;
        }
    }

    private long SeekOwn(long offset, int whence)
    {
        if ((StatusFlags & OpenFlags.O_PATH) != 0)
        {
            return -Errno.EBADF.Value;
        }

        lock (_posMu!)
        {
            long pos;
            switch (whence)
            {
                case SeekSet:
                    pos = offset;
                    break;
                case SeekCur:
                    pos = _offset + offset;
                    break;
                case SeekEnd:
                    long r = HostFile.Fstat(_fd.Fd, out Stat st);
                    if (r < 0)
                    {
                        return r;
                    }

                    pos = st.st_size + offset;
                    break;
                case SeekData:
                case SeekHole:
                    // The host knows where the holes are; its (shared) offset is not used by anyone.
                    pos = HostFile.Seek(_fd.Fd, offset, whence);
                    if (pos < 0)
                    {
                        return pos;
                    }

                    break;
                default:
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

    public override long Ioctl(Task t, uint request, ulong arg)
    {
        int size = request switch
        {
            TCGETS => KernelTermiosSize,
            TIOCGWINSZ => WinsizeSize,
            _ => -1,
        };
        if (size < 0)
        {
            return -Errno.ENOTTY.Value;
        }

        byte* buf = stackalloc byte[64];
        long r = HostFile.Ioctl(_fd.Fd, request, buf);
        if (r < 0)
        {
            return r;
        }

        return t.MM.CopyOut(arg, new System.ReadOnlySpan<byte>(buf, size)) < 0 ? -Errno.EFAULT.Value : r;
    }

    // A write by a task without CAP_FSETID takes the set-id bits off a volume file, as Linux does; the host
    // would not, since the Sentry writes with CAP_FSETID of its own.
    private void DropSetId(Credentials c)
    {
        if (HostFile.Fstat(_fd.Fd, out Stat st) == 0)
        {
            uint mode = Permissions.ModeAfterWrite(c, st.st_mode, st.st_gid);
            if (mode != st.st_mode)
            {
                HostPathChange.Fchmod(_fd.Fd, (int)(mode & 0xFFF));
            }
        }
    }

    // Moves bytes between the sequence and the host fd, one contiguous MemoryFile block at a time (pinned for
    // the host call: IoSequence.CopyOutFrom/CopyInTo). Like Linux, a fault after some bytes moved ends the call
    // with the count so far.
    private long Transfer(Task t, in IoSequence io, long offset, bool write)
    {
        if (io.Total == 0)
        {
            // Linux checks the fd's mode, not the buffer, for an empty transfer.
            return 0;
        }

        if (write && Volume != null && !t.Credentials.HasCapability(Credentials.CAP_FSETID))
        {
            DropSetId(t.Credentials);
        }

        if (!write && offset < 0 && PolledFromHost)
        {
            // A host pipe, tty or socket may have nothing to read: sleep as a task (so a signal or a kill
            // ends the wait) instead of in the host's read(2), and answer O_NONBLOCK ourselves.
            const int Readable = PollEvents.POLLIN | PollEvents.POLLHUP | PollEvents.POLLERR;
            if ((Readiness(PollEvents.POLLIN) & Readable) == 0)
            {
                if ((StatusFlags & OpenFlags.O_NONBLOCK) != 0)
                {
                    return -Errno.EAGAIN.Value;
                }

                long w = ReadinessWait.Wait(t, [this], () => (Readiness(PollEvents.POLLIN) & Readable) != 0, -1);
                if (w < 0)
                {
                    return w;
                }
            }
        }

        if (PolledFromHost)
        {
            return TransferBounced(t, io, offset, write);
        }

        long left = long.MaxValue;
        if (write && FileSizeLimit.IsSet(t))
        {
            // RLIMIT_FSIZE trims the whole write (a vectored one too) once.
            left = TrimToSizeLimit(t, io.Total, offset);
            if (left < 0)
            {
                return left;
            }
        }

        // A regular file: the host call does not sleep for long, so it may run under the pin.
        var host = new HostIo(_fd.Fd, offset, left);
        return write ? io.CopyInTo(t.MM, 0, ref host) : io.CopyOutFrom(t.MM, 0, ref host);
    }

    // One host read or write per block, at the fd's offset (-1) or at a position that moves along; writes stop
    // after `left` bytes (a short block ends the copy).
    private struct HostIo(int fd, long offset, long left) : IBlockReader, IBlockWriter
    {
        private long _at = offset;
        private long _left = left;

        public long ReadToBlock(System.Span<byte> block)
        {
            fixed (byte* p = block)
            {
                // SAFETY: p points at block's bytes, pinned by fixed (and by the MemoryManager for app memory).
                return Advance(_at < 0 ? HostFile.Read(fd, p, (ulong)block.Length) : HostFile.PRead(fd, p, (ulong)block.Length, _at));
            }
        }

        public long WriteFromBlock(System.ReadOnlySpan<byte> block)
        {
            if (block.Length > _left)
            {
                block = block[..(int)_left];
            }

            fixed (byte* p = block)
            {
                // SAFETY: as in ReadToBlock.
                long w = Advance(_at < 0 ? HostFile.Write(fd, p, (ulong)block.Length) : HostFile.PWrite(fd, p, (ulong)block.Length, _at));
                if (w > 0)
                {
                    _left -= w;
                }

                return w;
            }
        }

        private long Advance(long r)
        {
            if (r > 0 && _at >= 0)
            {
                _at += r;
            }

            return r;
        }
    }

    // A pipe, a terminal or a socket of the host may block in the host call for as long as its other end
    // likes: never while app pages are pinned (that would hold up munmap and copy-on-write faults of the whole
    // process, and deadlock one whose other thread must run to unblock it). Copy through a pooled buffer.
    private long TransferBounced(Task t, in IoSequence io, long offset, bool write)
    {
        byte[] buf = System.Buffers.ArrayPool<byte>.Shared.Rent(BounceSize);
        try
        {
            fixed (byte* b = buf)
            {
                if (!write)
                {
                    // One host read: a stream returns what it has, and a second read could sleep. Read no more
                    // than the buffer can take, since bytes read cannot go back into the host pipe.
                    long want = io.WritablePrefix(t.MM, (ulong)BounceSize);
                    if (want < 0)
                    {
                        return want;
                    }

                    long r = offset < 0 ? HostFile.Read(_fd.Fd, b, (ulong)want) : HostFile.PRead(_fd.Fd, b, (ulong)want, offset);
                    if (r <= 0)
                    {
                        return r;
                    }

                    long c = io.CopyOut(t.MM, 0, buf.AsSpan(0, (int)r));
                    return c < 0 ? c : r;
                }

                ulong count = io.Total;
                ulong done = 0;
                while (done < count)
                {
                    int chunk = (int)System.Math.Min(count - done, (ulong)BounceSize);
                    long c = io.CopyInPartial(t.MM, done, buf.AsSpan(0, chunk));
                    if (c < 0)
                    {
                        return done > 0 ? (long)done : c;
                    }

                    long r = offset < 0 ? HostFile.Write(_fd.Fd, b, (ulong)c) : HostFile.PWrite(_fd.Fd, b, (ulong)c, offset + (long)done);
                    if (r < 0)
                    {
                        return done > 0 ? (long)done : r;
                    }

                    done += (ulong)r;
                    if (r < chunk)
                    {
                        break;
                    }
                }

                return (long)done;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buf);
        }
    }

    // The most a bounced transfer moves per host call.
    private const int BounceSize = 64 * 1024;

    protected override void Release()
    {
        if (_posMu != null)
        {
            _fd.DangerousRelease();
        }
        else
        {
            _fd.Dispose();
        }
    }
}
