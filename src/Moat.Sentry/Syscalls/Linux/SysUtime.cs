using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// utime(2), utimes(2) and futimesat(2), served by utimensat(2). Their times are checked and converted to a
/// timespec pair as Linux does, which utimensat then reads from the caller's stack below its red zone: memory
/// the thread does not use at this point (Linux writes signal frames there).
/// </summary>
internal static class SysUtime
{
    private const ulong RedZone = 128;

    /// <summary>Implements utime(2): struct utimbuf holds whole seconds.</summary>
    public static long Utime(Task t, in SyscallArgs a)
    {
        ulong timesAddr = a.Pointer(1);
        if (timesAddr == 0)
        {
            return SetTimes(t, OpenFlags.AT_FDCWD, a.Pointer(0), default, default, now: true);
        }

        Span<long> buf = stackalloc long[2];
        if (t.MM.CopyIn(timesAddr, MemoryMarshal.AsBytes(buf)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return SetTimes(t, OpenFlags.AT_FDCWD, a.Pointer(0), new Timespec { tv_sec = buf[0] }, new Timespec { tv_sec = buf[1] }, now: false);
    }

    /// <summary>Implements utimes(2).</summary>
    public static long Utimes(Task t, in SyscallArgs a) => Futimes(t, OpenFlags.AT_FDCWD, a.Pointer(0), a.Pointer(1));

    /// <summary>Implements futimesat(2).</summary>
    public static long Futimesat(Task t, in SyscallArgs a) => Futimes(t, a.Int(0), a.Pointer(1), a.Pointer(2));

    private static long Futimes(Task t, int dirfd, ulong path, ulong timesAddr)
    {
        if (timesAddr == 0)
        {
            return SetTimes(t, dirfd, path, default, default, now: true);
        }

        Span<Timeval> tv = stackalloc Timeval[2];
        if (t.MM.CopyIn(timesAddr, MemoryMarshal.AsBytes(tv)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        // Checked here, before the conversion could hide a bad value (or make UTIME_NOW/UTIME_OMIT of one).
        if (tv[0].tv_usec is < 0 or >= 1_000_000 || tv[1].tv_usec is < 0 or >= 1_000_000)
        {
            return -Errno.EINVAL.Value;
        }

        return SetTimes(
            t,
            dirfd,
            path,
            new Timespec { tv_sec = tv[0].tv_sec, tv_nsec = tv[0].tv_usec * 1000 },
            new Timespec { tv_sec = tv[1].tv_sec, tv_nsec = tv[1].tv_usec * 1000 },
            now: false);
    }

    private static long SetTimes(Task t, int dirfd, ulong path, Timespec atime, Timespec mtime, bool now)
    {
        ulong timesAddr = 0;
        if (!now)
        {
            timesAddr = (t.Registers.rsp - RedZone - 32) & ~15UL;
            Span<Timespec> ts = [atime, mtime];
            if (t.MM.CopyOut(timesAddr, MemoryMarshal.AsBytes(ts)) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        return SysPathChange.Utimensat(t, new SyscallArgs((ulong)(long)dirfd, path, timesAddr, 0));
    }
}
