using System;
using System.Threading;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>Clocks and sleeps.</summary>
internal static class SysTime
{
    private const int CLOCK_REALTIME = 0;
    private const int CLOCK_MONOTONIC = 1;
    private const int CLOCK_PROCESS_CPUTIME_ID = 2;
    private const int CLOCK_THREAD_CPUTIME_ID = 3;
    private const int CLOCK_MONOTONIC_RAW = 4;
    private const int CLOCK_REALTIME_COARSE = 5;
    private const int CLOCK_MONOTONIC_COARSE = 6;
    private const int CLOCK_BOOTTIME = 7;
    private const int CLOCK_REALTIME_ALARM = 8;
    private const int CLOCK_BOOTTIME_ALARM = 9;
    private const int CLOCK_TAI = 11;
    private const int TIMER_ABSTIME = 1;

    /// <summary>
    /// Maps a sandbox clock id to the host clock that serves it. The CPU-time clocks (2, 3 and the negative
    /// ids of pthread_getcpuclockid and clock_getcpuclockid) are the app's own, not the host's: see
    /// <see cref="CpuClocks"/>.
    /// </summary>
    private static bool TryHostClock(int clock, out int host)
    {
        host = clock switch
        {
            CLOCK_REALTIME or CLOCK_REALTIME_COARSE or CLOCK_REALTIME_ALARM => clock == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME : clock,
            CLOCK_MONOTONIC or CLOCK_MONOTONIC_RAW or CLOCK_MONOTONIC_COARSE => clock,
            CLOCK_BOOTTIME or CLOCK_BOOTTIME_ALARM => CLOCK_BOOTTIME,
            CLOCK_TAI => CLOCK_TAI,
            _ => -1,
        };
        return host >= 0;
    }

    private static bool IsCpuClock(int clock) => clock < 0 || clock is CLOCK_PROCESS_CPUTIME_ID or CLOCK_THREAD_CPUTIME_ID;

    private static Timespec Ts(long ns) => new() { tv_sec = ns / 1_000_000_000, tv_nsec = ns % 1_000_000_000 };

    /// <summary>Implements clock_gettime(2).</summary>
    public static long ClockGettime(Task t, in SyscallArgs a)
    {
        int clock = a.Int(0);
        if (IsCpuClock(clock))
        {
            Errno e = CpuClocks.Resolve(t, clock, gettime: true, out Task? thread, out ThreadGroup? group, out int which);
            return e != Errno.None ? -e.Value : t.MM.CopyOut(a.Pointer(1), Ts(CpuClocks.Read(t.Kernel, thread, group, which)));
        }

        if (!TryHostClock(clock, out int host))
        {
            return -Errno.EINVAL.Value;
        }

        long r = HostProcess.ClockGettime(host, out Timespec ts);
        return r < 0 ? r : t.MM.CopyOut(a.Pointer(1), ts);
    }

    /// <summary>Implements clock_getres(2).</summary>
    public static long ClockGetres(Task t, in SyscallArgs a)
    {
        int clock = a.Int(0);
        int which = CpuClocks.Sched;
        if (IsCpuClock(clock))
        {
            Errno e = CpuClocks.Resolve(t, clock, gettime: false, out _, out _, out which);
            if (e != Errno.None)
            {
                return -e.Value;
            }
        }
        else if (!TryHostClock(clock, out _))
        {
            return -Errno.EINVAL.Value;
        }

        if (a.Pointer(1) == 0)
        {
            return 0;
        }

        // The tick-sampled CPU clocks (Linux's CPUCLOCK_PROF and CPUCLOCK_VIRT) resolve a tick, as the coarse clocks.
        bool coarse = clock is CLOCK_REALTIME_COARSE or CLOCK_MONOTONIC_COARSE || which != CpuClocks.Sched;
        var res = new Timespec { tv_sec = 0, tv_nsec = coarse ? 4_000_000 : 1 };
        return t.MM.CopyOut(a.Pointer(1), res);
    }

    /// <summary>Implements gettimeofday(2). The timezone argument is filled with zeros, as Linux does by default.</summary>
    public static long Gettimeofday(Task t, in SyscallArgs a)
    {
        if (a.Pointer(0) != 0)
        {
            HostProcess.ClockGettime(CLOCK_REALTIME, out Timespec ts);
            var tv = new Timeval { tv_sec = ts.tv_sec, tv_usec = ts.tv_nsec / 1000 };
            if (t.MM.CopyOut(a.Pointer(0), tv) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        if (a.Pointer(1) != 0 && t.MM.CopyOut(a.Pointer(1), 0UL) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return 0;
    }

    /// <summary>Implements time(2).</summary>
    public static long Time(Task t, in SyscallArgs a)
    {
        HostProcess.ClockGettime(CLOCK_REALTIME, out Timespec ts);
        if (a.Pointer(0) != 0 && t.MM.CopyOut(a.Pointer(0), ts.tv_sec) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return ts.tv_sec;
    }

    /// <summary>Implements nanosleep(2).</summary>
    public static long Nanosleep(Task t, in SyscallArgs a) => Sleep(t, CLOCK_MONOTONIC, 0, a.Pointer(0), a.Pointer(1));

    /// <summary>Implements clock_nanosleep(2).</summary>
    public static long ClockNanosleep(Task t, in SyscallArgs a)
    {
        int clock = a.Int(0);
        if (IsCpuClock(clock))
        {
            return CpuSleep(t, clock, a.Int(1), a.Pointer(2), a.Pointer(3));
        }

        if (!TryHostClock(clock, out int host))
        {
            return -Errno.EINVAL.Value;
        }

        return Sleep(t, host, a.Int(1), a.Pointer(2), a.Pointer(3));
    }

    // clock_nanosleep on a CPU clock, as Linux's posix_cpu_nsleep: not on the caller's own thread clock
    // (it could never advance), otherwise until the clock reaches the deadline. The clock is sampled: the
    // task sleeps for the CPU time left divided by the CPUs that could use it, at least 1 ms and at most 10.
    private static long CpuSleep(Task t, int clock, int flags, ulong reqAddr, ulong remAddr)
    {
        if (CpuClocks.IsDynamicClock(clock))
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        if (t.MM.CopyIn(reqAddr, out Timespec req) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (req.tv_sec < 0 || req.tv_nsec < 0 || req.tv_nsec >= 1_000_000_000)
        {
            return -Errno.EINVAL.Value;
        }

        Errno e = CpuClocks.Resolve(t, clock, gettime: false, out Task? thread, out ThreadGroup? group, out int which);
        if (e != Errno.None || clock == CLOCK_THREAD_CPUTIME_ID || thread == t)
        {
            return -Errno.EINVAL.Value;
        }

        long reqNs = req.tv_sec > long.MaxValue / 1_000_000_000 ? long.MaxValue : (req.tv_sec * 1_000_000_000) + req.tv_nsec;
        long now = CpuClocks.Read(t.Kernel, thread, group, which);
        long deadline = (flags & TIMER_ABSTIME) != 0 ? reqNs : (reqNs > long.MaxValue - now ? long.MaxValue : now + reqNs);
        while (now < deadline)
        {
            int ms = (int)Math.Clamp((deadline - now) / Environment.ProcessorCount / 1_000_000, 1, 10);
            long r = t.Block(null, static () => false, ms);
            if (r != -Errno.ETIMEDOUT.Value)
            {
                if (remAddr != 0 && (flags & TIMER_ABSTIME) == 0)
                {
                    now = CpuClocks.Read(t.Kernel, thread, group, which);
                    t.MM.CopyOut(remAddr, Ts(Math.Max(0, deadline - now)));
                }

                return -Errno.EINTR.Value;
            }

            now = CpuClocks.Read(t.Kernel, thread, group, which);
        }

        return 0;
    }

    private static long Sleep(Task t, int hostClock, int flags, ulong reqAddr, ulong remAddr)
    {
        if (t.MM.CopyIn(reqAddr, out Timespec req) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (req.tv_sec < 0 || req.tv_nsec < 0 || req.tv_nsec >= 1_000_000_000)
        {
            return -Errno.EINVAL.Value;
        }

        long nanos;
        if ((flags & TIMER_ABSTIME) != 0)
        {
            HostProcess.ClockGettime(hostClock, out Timespec now);
            nanos = ((req.tv_sec - now.tv_sec) * 1_000_000_000) + (req.tv_nsec - now.tv_nsec);
        }
        else
        {
            nanos = req.tv_sec > long.MaxValue / 1_000_000_000 ? long.MaxValue : (req.tv_sec * 1_000_000_000) + req.tv_nsec;
        }

        if (nanos <= 0)
        {
            return 0;
        }

        if (nanos < 2_000_000)
        {
            // Too short for the wake event's millisecond clock: sleep on the host.
            HostSleep(nanos);
            return 0;
        }

        // Sleeps on the task's own wake event, so a signal interrupts it.
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        int ms = (int)Math.Min((nanos + 999_999) / 1_000_000, int.MaxValue);
        long r = t.Block(null, static () => false, ms);
        if (r == -Errno.ETIMEDOUT.Value)
        {
            return 0;
        }

        if (remAddr != 0 && (flags & TIMER_ABSTIME) == 0)
        {
            long elapsed = (long)System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalNanoseconds;
            long left = Math.Max(0, nanos - elapsed);
            t.MM.CopyOut(remAddr, new Timespec { tv_sec = left / 1_000_000_000, tv_nsec = left % 1_000_000_000 });
        }

        return -Errno.EINTR.Value;
    }

    private static unsafe void HostSleep(long nanos)
    {
        var ts = new Timespec { tv_sec = 0, tv_nsec = nanos };
        Timespec rem;
        while (HostProcess.Syscall(Sysno.nanosleep, (long)&ts, (long)&rem) == -Errno.EINTR.Value)
        {
            ts = rem;
        }
    }
}
