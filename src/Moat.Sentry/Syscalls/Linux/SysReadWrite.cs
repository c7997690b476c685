using System;
using System.Buffers;
using System.Runtime.InteropServices;
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
            return !SpliceIo.Readable(f) ? -Errno.EBADF.Value : Accessed(t, f, f.Read(t, IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount)), -1));
        }
        finally
        {
            f.DecRef();
        }
    }

    // A write that moved bytes is IN_MODIFY for inotify watches on the file and its directory; every write that
    // reached the file is counted for /proc/PID/io.
    private static long Modified(Task t, FileDescription f, long n)
    {
        t.Io.Write(n);
        if (n > 0 && Vfs.Inotify.Fsnotify.Active)
        {
            Vfs.Inotify.Fsnotify.OnFile(t, f, Vfs.Inotify.InotifyMask.IN_MODIFY);
        }

        return n;
    }

    // A read that moved bytes is IN_ACCESS (Linux's fsnotify_access in vfs_read and its vectored forms); every read
    // that reached the file is counted for /proc/PID/io.
    private static long Accessed(Task t, FileDescription f, long n)
    {
        t.Io.Read(n);
        if (n > 0 && Vfs.Inotify.Fsnotify.Active)
        {
            Vfs.Inotify.Fsnotify.OnFile(t, f, Vfs.Inotify.InotifyMask.IN_ACCESS);
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
            long n = !SpliceIo.Writable(f) ? -Errno.EBADF.Value : f.Write(t, IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount)), -1);
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
            // Linux's order: ESPIPE (no FMODE_PREAD), then EBADF (mode).
            return !f.Positional ? -Errno.ESPIPE.Value
                : !SpliceIo.Readable(f) ? -Errno.EBADF.Value
                : Accessed(t, f, f.Read(t, IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount)), a.Long(3)));
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
            long n = !f.Positional ? -Errno.ESPIPE.Value
                : !SpliceIo.Writable(f) ? -Errno.EBADF.Value
                : f.Write(t, IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount)), a.Long(3));
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

            // The iovecs in a pooled array (no allocation once the pool has one), lent to the IoSequence for
            // this call only.
            ulong[] iov = ArrayPool<ulong>.Shared.Rent(count * 2);
            try
            {
                return VectoredWith(t, f, iov, count, iovAddr, offset, flags, write);
            }
            finally
            {
                ArrayPool<ulong>.Shared.Return(iov);
            }
        }
        finally
        {
            f.DecRef();
        }
    }

    // The rest of Vectored, with the iovec array: checks it, then makes one call into the file for all of it,
    // as Linux's do_iter_read/do_iter_write do (so a pipe's PIPE_BUF atomicity covers a whole writev).
    private static long VectoredWith(Task t, FileDescription f, ulong[] iov, int count, ulong iovAddr, long offset, int flags, bool write)
    {
        if (t.MM.CopyIn(iovAddr, MemoryMarshal.AsBytes(iov.AsSpan(0, count * 2))) < 0)
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

        ulong left = MaxRwCount;
        for (int i = 0; i < count; i++)
        {
            ulong len = Math.Min(iov[(i * 2) + 1], left);
            iov[(i * 2) + 1] = len;
            left -= len;
        }

        return Transfer(t, f, IoSequence.Vector(iov, count), offset, flags, write);
    }

    /// <summary>
    /// One read or write of <paramref name="io"/> with preadv2's RWF flags (already checked), at
    /// <paramref name="offset"/> (-1: the file offset); with <paramref name="notify"/> a transfer that moved
    /// bytes is IN_MODIFY or IN_ACCESS (AIO's are not, as on Linux). Shared with AIO.
    /// </summary>
    internal static long Transfer(Task t, FileDescription f, in IoSequence io, long offset, int flags, bool write, bool notify = true)
    {
        bool nowait = (flags & RwFlags.RWF_NOWAIT) != 0;
        bool append = write && (flags & RwFlags.RWF_APPEND) != 0;
        bool noAppend = write && offset >= 0 && (flags & RwFlags.RWF_NOAPPEND) != 0;
        long r;
        if (nowait && f is PipeEnd p)
        {
            r = write ? p.Write(t, io, nonBlocking: true) : p.Read(t, io, nonBlocking: true);
        }
        else if (append && f.Positional)
        {
            r = WriteAtEnd(t, f, io, offset);
        }
        else if (write)
        {
            r = f.Write(t, io, offset, noAppend ? WriteFlags.NoAppend : WriteFlags.None);
        }
        else
        {
            r = f.Read(t, io, offset);
        }

        return !notify ? r : write ? Modified(t, f, r) : Accessed(t, f, r);
    }

    // RWF_APPEND: write at the end; a write at the file offset leaves the offset at the new end.
    private static long WriteAtEnd(Task t, FileDescription f, in IoSequence io, long offset)
    {
        long r = f.Stat(out Stat st);
        if (r < 0)
        {
            return r;
        }

        r = f.Write(t, io, st.st_size);
        if (r > 0 && offset < 0)
        {
            f.Seek(st.st_size + r, 0);
        }

        return r;
    }
}
