using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// Setting and disciplining the system clock: clock_settime(2), settimeofday(2), adjtimex(2), clock_adjtime(2).
/// The sandbox is a user namespace of its own, and Linux honours CAP_SYS_TIME only in the initial one, so every
/// change answers EPERM, for root too, after Linux's argument checks; reading the clock's state works.
/// </summary>
internal static class SysClockSet
{
    private const int CLOCK_REALTIME = 0;
    private const int CLOCK_TAI = 11;
    private const int CLOCKFD = 3;

    private const uint ADJ_OFFSET_SINGLESHOT = 0x0001;
    private const uint ADJ_OFFSET_READONLY = 0x2000;
    private const uint ADJ_ADJTIME = 0x8000;
    private const int STA_UNSYNC = 0x0040;
    private const int TIME_ERROR = 5;
    private const int TimexSize = 208;

    /// <summary>Implements clock_settime(2): only CLOCK_REALTIME can be set (EINVAL for the others).</summary>
    public static long ClockSettime(Task t, in SyscallArgs a)
    {
        if (a.Int(0) != CLOCK_REALTIME)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyIn(a.Pointer(1), out Timespec ts) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return ValidForSettod(ts) ? -Errno.EPERM.Value : -Errno.EINVAL.Value;
    }

    /// <summary>Implements settimeofday(2).</summary>
    public static long Settimeofday(Task t, in SyscallArgs a)
    {
        if (a.Pointer(0) != 0)
        {
            if (t.MM.CopyIn(a.Pointer(0), out Timeval tv) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (tv.tv_usec > 1_000_000 || tv.tv_usec < 0 || !ValidForSettod(new Timespec { tv_sec = tv.tv_sec, tv_nsec = tv.tv_usec * 1000 }))
            {
                return -Errno.EINVAL.Value;
            }
        }

        // struct timezone: two ints.
        if (a.Pointer(1) != 0 && t.MM.CopyIn(a.Pointer(1), out ulong _) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return -Errno.EPERM.Value;
    }

    /// <summary>Implements adjtimex(2): a read (modes 0, or ADJ_OFFSET_SS_READ) reports the clock's state.</summary>
    public static long Adjtimex(Task t, in SyscallArgs a) => Adjust(t, a.Pointer(0));

    /// <summary>Implements clock_adjtime(2): CLOCK_REALTIME as adjtimex; other clocks cannot be adjusted.</summary>
    public static long ClockAdjtime(Task t, in SyscallArgs a)
    {
        int clock = a.Int(0);
        if (clock == CLOCK_REALTIME)
        {
            return Adjust(t, a.Pointer(1));
        }

        // Linux's clockid_to_kclock: the other fixed clocks and CPU clocks exist without clock_adj; a clock fd is
        // never a posix clock in the sandbox.
        bool known = clock < 0 ? (clock & 7) != CLOCKFD : clock <= CLOCK_TAI && clock != 10;
        return known ? -Errno.EOPNOTSUPP.Value : -Errno.EINVAL.Value;
    }

    private static long Adjust(Task t, ulong addr)
    {
        Span<byte> timex = stackalloc byte[TimexSize];
        if (t.MM.CopyIn(addr, timex) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        uint modes = MemoryMarshal.Read<uint>(timex);
        if ((modes & ADJ_ADJTIME) != 0)
        {
            if ((modes & ADJ_OFFSET_SINGLESHOT) == 0)
            {
                return -Errno.EINVAL.Value;
            }

            if ((modes & ADJ_OFFSET_READONLY) == 0)
            {
                return -Errno.EPERM.Value;
            }
        }
        else if (modes != 0)
        {
            return -Errno.EPERM.Value;
        }

        // The state of a clock no NTP daemon disciplines, as Linux has it at boot.
        HostProcess.ClockGettime(CLOCK_REALTIME, out Timespec now);
        Span<long> f = MemoryMarshal.Cast<byte, long>(timex);
        f[1] = 0;                      // offset (ADJ_ADJTIME: the pending adjtime adjustment, none)
        f[2] = 0;                      // freq
        f[3] = 16_000_000;             // maxerror (NTP_PHASE_LIMIT)
        f[4] = 16_000_000;             // esterror
        f[5] = STA_UNSYNC;             // status (int, padded)
        f[6] = 2;                      // constant
        f[7] = 1;                      // precision
        f[8] = 32_768_000;             // tolerance (500 ppm, scaled)
        f[9] = now.tv_sec;             // time.tv_sec
        f[10] = now.tv_nsec / 1000;    // time.tv_usec
        f[11] = 10_000;                // tick (USER_HZ 100)
        f[12] = 0;                     // ppsfreq
        f[13] = 0;                     // jitter
        f[14] = 0;                     // shift (int, padded)
        f[15] = 0;                     // stabil
        f[16] = 0;                     // jitcnt
        f[17] = 0;                     // calcnt
        f[18] = 0;                     // errcnt
        f[19] = 0;                     // stbcnt
        MemoryMarshal.Write(timex[160..], 0); // tai
        return t.MM.CopyOut(addr, timex) < 0 ? -Errno.EFAULT.Value : TIME_ERROR;
    }

    // Linux's timespec64_valid_settod: a non-negative time with a valid nanosecond count, far from overflow.
    private static bool ValidForSettod(in Timespec ts) =>
        ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1_000_000_000 && ts.tv_sec < (long.MaxValue / 1_000_000_000) - (30L * 365 * 24 * 3600);
}
