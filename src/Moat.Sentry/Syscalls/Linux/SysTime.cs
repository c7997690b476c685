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
        bool absolute = (flags & TIMER_ABSTIME) != 0;
        long now = CpuClocks.Read(t.Kernel, thread, group, which);
        long deadline = absolute ? reqNs : (reqNs > long.MaxValue - now ? long.MaxValue : now + reqNs);
        var sleep = new CpuClockSleep(thread, group, which, deadline, absolute ? 0 : remAddr);
        long r = sleep.Restart(t);
        return absolute && r == -Errno.ERESTART_RESTARTBLOCK.Value ? -Errno.ERESTARTNOHAND.Value : r;
    }

    // A sleep until a CPU clock reaches a deadline; a relative one interrupted writes the time left to rem and
    // goes on through restart_syscall (Linux's posix_cpu_nsleep_restart).
    private sealed class CpuClockSleep(Task? thread, ThreadGroup? group, int which, long deadline, ulong remAddr) : ISyscallRestart
    {
        public long Restart(Task t)
        {
            long now = CpuClocks.Read(t.Kernel, thread, group, which);
            while (now < deadline)
            {
                int ms = (int)Math.Clamp((deadline - now) / Environment.ProcessorCount / 1_000_000, 1, 10);
                long r = t.Block(null, static () => false, ms);
                now = CpuClocks.Read(t.Kernel, thread, group, which);
                if (r != -Errno.ETIMEDOUT.Value)
                {
                    if (remAddr != 0 && t.MM.CopyOut(remAddr, Ts(Math.Max(0, deadline - now))) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    t.SyscallRestart = this;
                    return -Errno.ERESTART_RESTARTBLOCK.Value;
                }
            }

            return 0;
        }
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

        if ((flags & TIMER_ABSTIME) != 0)
        {
            // An absolute deadline restarts as it is, with the same arguments (ERESTARTNOHAND).
            HostProcess.ClockGettime(hostClock, out Timespec now);
            long left = ((req.tv_sec - now.tv_sec) * 1_000_000_000) + (req.tv_nsec - now.tv_nsec);
            return left <= 0 || SleepUntil(t, WaitDeadline.FromNow(left)) ? 0 : -Errno.ERESTARTNOHAND.Value;
        }

        long nanos = req.tv_sec > long.MaxValue / 1_000_000_000 ? long.MaxValue : (req.tv_sec * 1_000_000_000) + req.tv_nsec;
        return RelativeSleep.Run(t, WaitDeadline.FromNow(nanos), remAddr);
    }

    // Sleeps on the task's wake event until the deadline: true when it passed, false when a signal (or a stop)
    // needs the task. A wait never ends early: the event's millisecond clock is coarser than the deadline's.
    private static bool SleepUntil(Task t, long deadline)
    {
        while (true)
        {
            long left = WaitDeadline.NanosLeft(deadline);
            if (left <= 0)
            {
                return true;
            }

            if (left < 2_000_000)
            {
                // Too short for the wake event's millisecond clock: sleep on the host.
                HostSleep(left);
                return true;
            }

            int ms = (int)Math.Min((left + 999_999) / 1_000_000, int.MaxValue);
            if (t.Block(null, static () => false, ms) != -Errno.ETIMEDOUT.Value)
            {
                return false;
            }
        }
    }

    // A relative nanosleep/clock_nanosleep: interrupted, it writes the time left to rem and goes on to the same
    // deadline through restart_syscall unless a handler runs (Linux's hrtimer_nanosleep_restart).
    private sealed class RelativeSleep(long deadline, ulong remAddr) : ISyscallRestart
    {
        public static long Run(Task t, long deadline, ulong remAddr)
        {
            if (SleepUntil(t, deadline))
            {
                return 0;
            }

            if (remAddr != 0 && t.MM.CopyOut(remAddr, Ts(WaitDeadline.NanosLeft(deadline))) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            t.SyscallRestart = new RelativeSleep(deadline, remAddr);
            return -Errno.ERESTART_RESTARTBLOCK.Value;
        }

        public long Restart(Task t) => Run(t, deadline, remAddr);
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
