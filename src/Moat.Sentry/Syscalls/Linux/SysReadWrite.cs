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

    private const int O_ACCMODE = 3;
    private const int O_RDONLY = 0;
    private const int O_WRONLY = 1;
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
            return (f.StatusFlags & O_ACCMODE) == O_WRONLY ? -Errno.EBADF.Value : f.Read(t, a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount));
        }
        finally
        {
            f.DecRef();
        }
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
            return (f.StatusFlags & O_ACCMODE) == O_RDONLY ? -Errno.EBADF.Value : f.Write(t, a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount));
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
            return (f.StatusFlags & O_ACCMODE) == O_WRONLY ? -Errno.EBADF.Value : f.PRead(t, a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount), a.Long(3));
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
            return (f.StatusFlags & O_ACCMODE) == O_RDONLY ? -Errno.EBADF.Value : f.PWrite(t, a.Pointer(1), Math.Min(a.SizeT(2), MaxRwCount), a.Long(3));
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements readv(2).</summary>
    public static long Readv(Task t, in SyscallArgs a) => Vectored(t, a.Int(0), a.Pointer(1), a.Int(2), write: false);

    /// <summary>Implements writev(2).</summary>
    public static long Writev(Task t, in SyscallArgs a) => Vectored(t, a.Int(0), a.Pointer(1), a.Int(2), write: true);

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

    private static long Vectored(Task t, int fd, ulong iovAddr, int iovcnt, bool write)
    {
        FileDescription? f = t.Fds.Get(fd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            int mode = f.StatusFlags & O_ACCMODE;
            if (write ? mode == O_RDONLY : mode == O_WRONLY)
            {
                return -Errno.EBADF.Value;
            }

            if (iovcnt < 0 || iovcnt > UioMaxIov)
            {
                return -Errno.EINVAL.Value;
            }

            if (iovcnt == 0)
            {
                return 0;
            }

            // Up to 8 iovecs on the stack (Linux's UIO_FASTIOV), more from the heap.
            Span<ulong> iov = iovcnt <= 8 ? stackalloc ulong[iovcnt * 2] : new ulong[iovcnt * 2];
            if (t.MM.CopyIn(iovAddr, System.Runtime.InteropServices.MemoryMarshal.AsBytes(iov)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            // Linux rejects a total that overflows ssize_t, and caps the transfer at MaxRwCount.
            ulong total = 0;
            for (int i = 0; i < iovcnt; i++)
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

            ulong left = Math.Min(total, MaxRwCount);
            ulong done = 0;
            for (int i = 0; i < iovcnt && left > 0; i++)
            {
                ulong len = Math.Min(iov[(i * 2) + 1], left);
                if (len == 0)
                {
                    continue;
                }

                long r = write ? f.Write(t, iov[i * 2], len) : f.Read(t, iov[i * 2], len);
                if (r < 0)
                {
                    return done > 0 ? (long)done : r;
                }

                done += (ulong)r;
                left -= (ulong)r;
                if ((ulong)r < len)
                {
                    break;
                }
            }

            return (long)done;
        }
        finally
        {
            f.DecRef();
        }
    }
}
