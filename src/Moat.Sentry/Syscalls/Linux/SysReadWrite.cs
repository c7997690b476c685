using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>read(2), write(2) and their positional and vectored forms.</summary>
internal static class SysReadWrite
{
    /// <summary>Linux caps one transfer at INT_MAX rounded down to a page.</summary>
    public const ulong MaxRwCount = 0x7FFFF000;

    private const int UioMaxIov = 1024;

    /// <summary>Implements read(2).</summary>
    public static long Read(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return !SpliceIo.Readable(f) ? -Errno.EBADF.Value : f.Read(t, a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount));
        }
        finally
        {
            f.DecRef();
        }
    }

    // A write that moved bytes is IN_MODIFY for inotify watches on the file and its directory.
    private static long Modified(Task t, FileDescription f, long n)
    {
        if (n > 0 && Vfs.Inotify.Fsnotify.Active)
        {
            Vfs.Inotify.Fsnotify.OnFile(t, f, Vfs.Inotify.InotifyMask.IN_MODIFY);
        }

        return n;
    }

    /// <summary>Implements write(2).</summary>
    public static long Write(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            long n = !SpliceIo.Writable(f) ? -Errno.EBADF.Value : f.Write(t, a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount));
            return Modified(t, f, n);
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements pread64(2).</summary>
    public static long PRead64(Task t, in SyscallArgs a)
    {
        if (a.Long(3) < 0)
        {
            return -Errno.EINVAL.Value;
        }

        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return !SpliceIo.Readable(f) ? -Errno.EBADF.Value : f.PRead(t, a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount), a.Long(3));
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements pwrite64(2).</summary>
    public static long PWrite64(Task t, in SyscallArgs a)
    {
        if (a.Long(3) < 0)
        {
            return -Errno.EINVAL.Value;
        }

        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            long n = !SpliceIo.Writable(f) ? -Errno.EBADF.Value : f.PWrite(t, a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount), a.Long(3));
            return Modified(t, f, n);
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements readv(2).</summary>
    public static long Readv(Task t, in SyscallArgs a) => Vectored(t, a.Int(0), a.Pointer(1), a[2], -1, 0, write: false);

    /// <summary>Implements writev(2).</summary>
    public static long Writev(Task t, in SyscallArgs a) => Vectored(t, a.Int(0), a.Pointer(1), a[2], -1, 0, write: true);

    /// <summary>Implements preadv(2); on x86-64 the whole offset is in pos_l.</summary>
    public static long Preadv(Task t, in SyscallArgs a) => a.Long(3) < 0 ? -Errno.EINVAL.Value : Vectored(t, a.Int(0), a.Pointer(1), a[2], a.Long(3), 0, write: false);

    /// <summary>Implements pwritev(2).</summary>
    public static long Pwritev(Task t, in SyscallArgs a) => a.Long(3) < 0 ? -Errno.EINVAL.Value : Vectored(t, a.Int(0), a.Pointer(1), a[2], a.Long(3), 0, write: true);

    /// <summary>Implements preadv2(2): offset -1 reads at the file offset, like readv.</summary>
    public static long Preadv2(Task t, in SyscallArgs a) => a.Long(3) < -1 ? -Errno.EINVAL.Value : Vectored(t, a.Int(0), a.Pointer(1), a[2], a.Long(3), a.Int(5), write: false);

    /// <summary>Implements pwritev2(2).</summary>
    public static long Pwritev2(Task t, in SyscallArgs a) => a.Long(3) < -1 ? -Errno.EINVAL.Value : Vectored(t, a.Int(0), a.Pointer(1), a[2], a.Long(3), a.Int(5), write: true);

    /// <summary>Implements lseek(2).</summary>
    public static long Lseek(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            int whence = a.Int(2);
            return whence is < 0 or > 4 ? -Errno.EINVAL.Value : f.Seek(a.Long(1), whence);
        }
        finally
        {
            f.DecRef();
        }
    }

    // offset -1: the file offset (readv/writev); otherwise positional. flags: RWF_* of preadv2/pwritev2.
    private static long Vectored(Task t, int fd, ulong iovAddr, ulong iovcnt, long offset, int flags, bool write)
    {
        FileDescription? f = t.Fds.Get(fd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            // Linux's order: ESPIPE (no FMODE_PREAD), EBADF (mode), the iovecs, then the flags.
            if (offset >= 0 && !f.Positional)
            {
                return -Errno.ESPIPE.Value;
            }

            if (write ? !SpliceIo.Writable(f) : !SpliceIo.Readable(f))
            {
                return -Errno.EBADF.Value;
            }

            if (iovcnt > UioMaxIov)
            {
                return -Errno.EINVAL.Value;
            }

            if (iovcnt == 0)
            {
                return 0;
            }

            int count = (int)iovcnt;

            // Up to 8 iovecs on the stack (Linux's UIO_FASTIOV), more from the heap.
            Span<ulong> iov = count <= 8 ? stackalloc ulong[count * 2] : new ulong[count * 2];
            if (t.MM.CopyIn(iovAddr, System.Runtime.InteropServices.MemoryMarshal.AsBytes(iov)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            // Linux rejects a total that overflows ssize_t, and caps the transfer at MaxRwCount.
            ulong total = 0;
            for (int i = 0; i < count; i++)
            {
                if ((long)iov[(i * 2) + 1] < 0)
                {
                    return -Errno.EINVAL.Value;
                }

                total += iov[(i * 2) + 1];
                if ((long)total < 0)
                {
                    return -Errno.EINVAL.Value;
                }
            }

            if (total == 0)
            {
                return 0;
            }

            if (flags != 0)
            {
                long fr = RwFlags.Check(flags, write);
                if (fr < 0)
                {
                    return fr;
                }
            }

            bool nowait = (flags & RwFlags.RWF_NOWAIT) != 0;
            bool append = write && (flags & RwFlags.RWF_APPEND) != 0;
            bool noAppend = write && offset >= 0 && (flags & RwFlags.RWF_NOAPPEND) != 0 && (f.StatusFlags & OpenFlags.O_APPEND) != 0 && f.Positional;
            ulong left = Math.Min(total, MaxRwCount);
            if (write && FileSizeLimit.IsSet(t))
            {
                left = TrimToSizeLimit(t, f, noAppend ? offset : append || (f.StatusFlags & OpenFlags.O_APPEND) != 0 ? -2 : offset, left);
            }

            ulong done = 0;
            for (int i = 0; i < count && left > 0; i++)
            {
                ulong len = Math.Min(iov[(i * 2) + 1], left);
                if (len == 0)
                {
                    continue;
                }

                long r = noAppend
                    ? WriteAt(t, f, iov[i * 2], len, offset + (long)done)
                    : Transfer(t, f, iov[i * 2], len, offset < 0 ? -1 : offset + (long)done, write, nowait, append);
                if (r < 0)
                {
                    return write ? Modified(t, f, done > 0 ? (long)done : r) : done > 0 ? (long)done : r;
                }

                done += (ulong)r;
                left -= (ulong)r;
                if ((ulong)r < len)
                {
                    break;
                }
            }

            return write ? Modified(t, f, (long)done) : (long)done;
        }
        finally
        {
            f.DecRef();
        }
    }

    // RLIMIT_FSIZE trims a vectored write to a regular file as a whole, as Linux checks the total once: only
    // the first segment can start at the limit (its write then answers EFBIG and raises SIGXFSZ), never a
    // later one. pos is the write's offset, -1 for the file offset, -2 for the end of the file.
    private static ulong TrimToSizeLimit(Task t, FileDescription f, long pos, ulong count)
    {
        if (!f.Positional || f.Stat(out Stat st) < 0 || (st.st_mode & Stat.S_IFMT) != Stat.S_IFREG)
        {
            return count;
        }

        pos = pos == -2 ? st.st_size : pos == -1 ? f.Seek(0, 1) : pos;
        long room = pos < 0 ? -1 : FileSizeLimit.Trim(FileSizeLimit.Of(t), pos, count);
        return room < 0 ? count : (ulong)room;
    }

    // RWF_NOAPPEND: a positional write that ignores O_APPEND, through a Sentry buffer (WriteBuffer takes the
    // offset literally, where pwrite on an O_APPEND file appends).
    private static long WriteAt(Task t, FileDescription f, ulong addr, ulong len, long offset)
    {
        byte[] buf = System.Buffers.ArrayPool<byte>.Shared.Rent(65536);
        try
        {
            ulong done = 0;
            while (done < len)
            {
                int n = (int)Math.Min((ulong)buf.Length, len - done);
                if (t.MM.CopyIn(addr + done, buf.AsSpan(0, n)) < 0)
                {
                    return done > 0 ? (long)done : -Errno.EFAULT.Value;
                }

                long w = f.WriteBuffer(t, buf.AsSpan(0, n), offset + (long)done);
                if (w < 0)
                {
                    return done > 0 ? (long)done : w;
                }

                done += (ulong)w;
                if (w < n)
                {
                    break;
                }
            }

            return (long)done;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buf);
        }
    }

    // One segment of a vectored transfer.
    private static long Transfer(Task t, FileDescription f, ulong addr, ulong len, long offset, bool write, bool nowait, bool append)
    {
        if (nowait && f is PipeEnd p)
        {
            return write ? p.Pipe.Write(t, addr, len, nonBlocking: true) : p.Pipe.Read(t, addr, len, nonBlocking: true);
        }

        if (append && f.Positional)
        {
            // RWF_APPEND: write at the end; a write at the file offset leaves the offset at the new end.
            long r = f.Stat(out Stat st);
            if (r < 0)
            {
                return r;
            }

            r = f.PWrite(t, addr, len, st.st_size);
            if (r > 0 && offset < 0)
            {
                f.Seek(st.st_size + r, 0);
            }

            return r;
        }

        if (offset < 0)
        {
            return write ? f.Write(t, addr, len) : f.Read(t, addr, len);
        }

        return write ? f.PWrite(t, addr, len, offset) : f.PRead(t, addr, len, offset);
    }
}
