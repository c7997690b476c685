using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>alarm(2), setitimer(2), POSIX timers and timerfd.</summary>
internal static class SysTimer
{
    private const int ITIMER_REAL = 0;
    private const int ITIMER_VIRTUAL = 1;
    private const int ITIMER_PROF = 2;
    private const int SIGEV_SIGNAL = 0;
    private const int SIGEV_NONE = 1;
    private const int SIGEV_THREAD = 2;
    private const int SIGEV_THREAD_ID = 4;
    private const int SI_TIMER = -2;
    private const int TIMER_ABSTIME = 1;
    private const int TFD_TIMER_ABSTIME = 1;

    private static IntervalTimer RealTimer(Task t)
    {
        ThreadGroup g = t.Group;
        lock (g.TimersMu)
        {
            return g.RealTimer ??= new IntervalTimer(_ => SignalGroup(t.Kernel, g, Signal.SIGALRM, new SigInfo { si_signo = Signal.SIGALRM, si_code = SigInfo.SI_KERNEL }));
        }
    }

    private static void SignalGroup(Kernel.Kernel k, ThreadGroup g, int sig, SigInfo info)
    {
        Task? target;
        lock (k.TreeMu)
        {
            target = g.Zombie ? null : g.SignalTarget(sig);
        }

        target?.SendSignal(sig, info);
    }

    // ITIMER_VIRTUAL counts the process's user time and sends SIGVTALRM; ITIMER_PROF user + system, SIGPROF.
    private static CpuTimer CpuTimerOf(Task t, int which)
    {
        ThreadGroup g = t.Group;
        Kernel.Kernel k = t.Kernel;
        lock (g.TimersMu)
        {
            int sig = which == ITIMER_VIRTUAL ? Signal.SIGVTALRM : Signal.SIGPROF;
            return g.CpuTimers[which - 1] ??= new CpuTimer(
                () =>
                {
                    (long u, long s) = CpuClocks.ProcessTimes(k, g);
                    return which == ITIMER_VIRTUAL ? u : u + s;
                },
                () => SignalGroup(k, g, sig, new SigInfo { si_signo = sig, si_code = SigInfo.SI_KERNEL }));
        }
    }

    /// <summary>Implements alarm(2).</summary>
    public static long Alarm(Task t, in SyscallArgs a)
    {
        IntervalTimer timer = RealTimer(t);
        (long left, _) = timer.Remaining();
        timer.Arm((long)a.UInt(0) * 1_000_000_000, 0);
        return left == 0 ? 0 : Math.Max(1, (left + 500_000_000) / 1_000_000_000);
    }

    /// <summary>Implements setitimer(2): ITIMER_REAL on the monotonic clock, ITIMER_VIRTUAL and ITIMER_PROF on the process's CPU clock.</summary>
    public static long Setitimer(Task t, in SyscallArgs a)
    {
        int which = a.Int(0);
        if (which is not (ITIMER_REAL or ITIMER_VIRTUAL or ITIMER_PROF))
        {
            return -Errno.EINVAL.Value;
        }

        Span<Timeval> v = stackalloc Timeval[2];
        if (a.Pointer(1) != 0)
        {
            if (t.MM.CopyIn(a.Pointer(1), MemoryMarshal.AsBytes(v)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (v[0].tv_usec is < 0 or >= 1_000_000 || v[1].tv_usec is < 0 or >= 1_000_000 || v[0].tv_sec < 0 || v[1].tv_sec < 0)
            {
                return -Errno.EINVAL.Value;
            }
        }

        if (which == ITIMER_REAL)
        {
            IntervalTimer timer = RealTimer(t);
            if (a.Pointer(2) != 0 && CopyOutItimerval(t, a.Pointer(2), timer.Remaining()) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (a.Pointer(1) != 0)
            {
                timer.Arm(Ns(v[1]), Ns(v[0]));
            }
        }
        else
        {
            CpuTimer timer = CpuTimerOf(t, which);
            if (a.Pointer(2) != 0 && CopyOutItimerval(t, a.Pointer(2), timer.Remaining()) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (a.Pointer(1) != 0)
            {
                timer.Arm(Ns(v[1]), Ns(v[0]));
            }
        }

        return 0;
    }

    /// <summary>Implements getitimer(2).</summary>
    public static long Getitimer(Task t, in SyscallArgs a)
    {
        int which = a.Int(0);
        return which switch
        {
            ITIMER_REAL => CopyOutItimerval(t, a.Pointer(1), RealTimer(t).Remaining()),
            ITIMER_VIRTUAL or ITIMER_PROF => CopyOutItimerval(t, a.Pointer(1), CpuTimerOf(t, which).Remaining()),
            _ => -Errno.EINVAL.Value,
        };
    }

    private static long CopyOutItimerval(Task t, ulong addr, (long Value, long Interval) remaining)
    {
        (long value, long interval) = remaining;
        Span<Timeval> v = [Tv(interval), Tv(value)];
        return t.MM.CopyOut(addr, MemoryMarshal.AsBytes(v));
    }

    /// <summary>
    /// Implements timer_create(2) for SIGEV_SIGNAL, SIGEV_NONE and SIGEV_THREAD_ID, on the wall and monotonic
    /// clocks and on CPU clocks (the process's, a thread's of this process, another process's), which are
    /// sampled every 10 ms (<see cref="CpuTimer"/>).
    /// </summary>
    public static long TimerCreate(Task t, in SyscallArgs a)
    {
        int clock = a.Int(0);
        Task? cpuThread = null;
        ThreadGroup? cpuGroup = null;
        int cpuWhich = 0;
        bool cpu = clock < 0 || clock is 2 or 3;
        if (CpuClocks.IsDynamicClock(clock))
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        if (cpu)
        {
            Errno e = CpuClocks.Resolve(t, clock, gettime: false, out cpuThread, out cpuGroup, out cpuWhich);
            if (e != Errno.None)
            {
                return -e.Value;
            }
        }
        else if (clock is not (0 or 1 or 7 or 8 or 9))
        {
            return -Errno.EINVAL.Value;
        }

        int notify = SIGEV_SIGNAL;
        int sig = Signal.SIGALRM;
        ulong value = 0;
        int tid = 0;
        if (a.Pointer(1) != 0)
        {
            // struct sigevent: sigev_value (8), sigev_signo (4), sigev_notify (4), then the union (tid first).
            Span<byte> ev = stackalloc byte[64];
            if (t.MM.CopyIn(a.Pointer(1), ev) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            value = BitConverter.ToUInt64(ev);
            sig = BitConverter.ToInt32(ev[8..]);
            notify = BitConverter.ToInt32(ev[12..]);
            tid = BitConverter.ToInt32(ev[16..]);
            if (notify is not (SIGEV_SIGNAL or SIGEV_NONE or SIGEV_THREAD_ID) || (notify != SIGEV_NONE && (sig < 1 || sig > Signal.SIGRTMAX)))
            {
                return -Errno.EINVAL.Value;
            }
        }

        ThreadGroup g = t.Group;
        Kernel.Kernel k = t.Kernel;
        int id;
        lock (g.TimersMu)
        {
            id = g.NextTimerId++;
        }

        if (a.Pointer(1) == 0)
        {
            value = (ulong)id; // without a sigevent, si_value.sival_int is the timer's id
        }

        Action fire = () =>
        {
            if (notify == SIGEV_NONE)
            {
                return;
            }

            var info = new SigInfo { si_signo = sig, si_code = SI_TIMER };
            MemoryMarshal.Write(MemoryMarshal.AsBytes(new Span<SigInfo>(ref info))[16..], id); // si_timerid
            MemoryMarshal.Write(MemoryMarshal.AsBytes(new Span<SigInfo>(ref info))[24..], value); // si_value
            if (notify == SIGEV_THREAD_ID)
            {
                k.FindTask(tid)?.SendSignal(sig, info);
            }
            else
            {
                SignalGroup(k, g, sig, info);
            }
        };
        IArmedTimer timer = cpu
            ? new CpuTimer(() => CpuClocks.Read(k, cpuThread, cpuGroup, cpuWhich), fire)
            : new IntervalTimer(_ => fire());
        lock (g.TimersMu)
        {
            g.PosixTimers[id] = (timer, clock, new TimerNotify(sig, value, notify, notify == SIGEV_THREAD_ID ? tid : g.Tgid));
        }

        if (t.MM.CopyOut(a.Pointer(2), id) < 0)
        {
            lock (g.TimersMu)
            {
                g.PosixTimers.Remove(id);
            }

            timer.Dispose();
            return -Errno.EFAULT.Value;
        }

        return 0;
    }

    private static (IArmedTimer Timer, int Clock, TimerNotify Notify)? Find(Task t, int id)
    {
        lock (t.Group.TimersMu)
        {
            return t.Group.PosixTimers.TryGetValue(id, out var e) ? e : null;
        }
    }

    /// <summary>Implements timer_settime(2).</summary>
    public static long TimerSettime(Task t, in SyscallArgs a)
    {
        if (Find(t, a.Int(0)) is not var (timer, clock, _))
        {
            return -Errno.EINVAL.Value;
        }

        return SetTime(t, timer, clock, (a.Int(1) & TIMER_ABSTIME) != 0, a.Pointer(2), a.Pointer(3));
    }

    /// <summary>Implements timer_gettime(2).</summary>
    public static long TimerGettime(Task t, in SyscallArgs a) =>
        Find(t, a.Int(0)) is var (timer, _, _) ? CopyOutItimerspec(t, a.Pointer(1), timer) : -Errno.EINVAL.Value;

    /// <summary>Implements timer_getoverrun(2).</summary>
    public static long TimerGetoverrun(Task t, in SyscallArgs a) =>
        Find(t, a.Int(0)) is var (timer, _, _) ? Math.Min(timer.TakeOverrun(), int.MaxValue) : -Errno.EINVAL.Value;

    /// <summary>Implements timer_delete(2).</summary>
    public static long TimerDelete(Task t, in SyscallArgs a)
    {
        (IArmedTimer Timer, int Clock, TimerNotify Notify) e;
        lock (t.Group.TimersMu)
        {
            if (!t.Group.PosixTimers.Remove(a.Int(0), out e))
            {
                return -Errno.EINVAL.Value;
            }
        }

        e.Timer.Dispose();
        return 0;
    }

    /// <summary>Implements timerfd_create(2).</summary>
    public static long TimerfdCreate(Task t, in SyscallArgs a)
    {
        int clock = a.Int(0);
        int flags = a.Int(1);
        if (clock is not (0 or 1 or 7 or 8 or 9) || (flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        var f = new TimerFd(clock, flags);
        int fd = t.Fds.Add(f, (flags & OpenFlags.O_CLOEXEC) != 0, 0, (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue));
        f.DecRef();
        return fd;
    }

    /// <summary>Implements timerfd_settime(2).</summary>
    public static long TimerfdSettime(Task t, in SyscallArgs a)
    {
        if ((a.Int(1) & ~(TFD_TIMER_ABSTIME | 2 /* TFD_TIMER_CANCEL_ON_SET */)) != 0)
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
            if (f is not TimerFd tf)
            {
                return -Errno.EINVAL.Value;
            }

            tf.Reset();
            return SetTime(t, tf.Timer, tf.Clock, (a.Int(1) & TFD_TIMER_ABSTIME) != 0, a.Pointer(2), a.Pointer(3));
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>Implements timerfd_gettime(2).</summary>
    public static long TimerfdGettime(Task t, in SyscallArgs a)
    {
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            return f is TimerFd tf ? CopyOutItimerspec(t, a.Pointer(1), tf.Timer) : -Errno.EINVAL.Value;
        }
        finally
        {
            f.DecRef();
        }
    }

    private static long SetTime(Task t, IArmedTimer timer, int clock, bool absolute, ulong newAddr, ulong oldAddr)
    {
        Span<Timespec> v = stackalloc Timespec[2];
        if (t.MM.CopyIn(newAddr, MemoryMarshal.AsBytes(v)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        foreach (Timespec ts in v)
        {
            if (ts.tv_sec < 0 || ts.tv_nsec is < 0 or >= 1_000_000_000)
            {
                return -Errno.EINVAL.Value;
            }
        }

        if (oldAddr != 0 && CopyOutItimerspec(t, oldAddr, timer) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long value = Ns(v[1]);
        if (absolute && value != 0)
        {
            long now;
            if (clock < 0 || clock is 2 or 3)
            {
                Errno e = CpuClocks.Resolve(t, clock, gettime: false, out Task? thread, out ThreadGroup? group, out int which);
                now = e == Errno.None ? CpuClocks.Read(t.Kernel, thread, group, which) : 0;
            }
            else
            {
                HostProcess.ClockGettime(clock is 8 ? 0 : clock is 9 ? 7 : clock, out Timespec ts);
                now = Ns(ts);
            }

            value = Math.Max(1, value - now);
        }

        timer.Arm(value, Ns(v[0]));
        return 0;
    }

    private static long CopyOutItimerspec(Task t, ulong addr, IArmedTimer timer)
    {
        (long value, long interval) = timer.Remaining();
        Span<Timespec> v = [Ts(interval), Ts(value)];
        return t.MM.CopyOut(addr, MemoryMarshal.AsBytes(v));
    }

    private static long Ns(Timeval tv) => (tv.tv_sec * 1_000_000_000) + (tv.tv_usec * 1000);

    private static long Ns(Timespec ts) => (ts.tv_sec * 1_000_000_000) + ts.tv_nsec;

    private static Timeval Tv(long ns) => new() { tv_sec = ns / 1_000_000_000, tv_usec = (ns % 1_000_000_000 + 999) / 1000 };

    private static Timespec Ts(long ns) => new() { tv_sec = ns / 1_000_000_000, tv_nsec = ns % 1_000_000_000 };
}
