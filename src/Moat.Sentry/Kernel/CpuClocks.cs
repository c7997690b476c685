using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel;

/// <summary>
/// The application's CPU-time clocks. A task's time is its stub thread's, which the host counts (the app's
/// instructions run there); a process's is its stub process's (all its threads, live and exited), plus
/// what it used in the address spaces it left by execve; a process that has exited keeps its final time.
/// A process made in its parent's memory (CLONE_VM, vfork) counts its own threads instead, as the stub's
/// clock counts every process in it (the parent's time includes such a child's while they share).
/// </summary>
internal static class CpuClocks
{
    /// <summary>Linux's CPUCLOCK_PROF (user + system), CPUCLOCK_VIRT (user) and CPUCLOCK_SCHED (run time).</summary>
    public const int Prof = 0;
    public const int Virt = 1;
    public const int Sched = 2;

    private const int PerThread = 4;

    /// <summary>
    /// Resolves a CPU clock id (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, or a negative id built as
    /// Linux's make_process_cpuclock/make_thread_cpuclock: <c>(~pid &lt;&lt; 3) | perthread | which</c>) to the
    /// task or process it measures, as Linux's pid_for_clock: a thread clock only of the caller's own
    /// process, a process clock only by a process id (a zombie's too), or for reading, the caller's own tid.
    /// </summary>
    /// <param name="gettime">True for clock_gettime, which also accepts the caller's tid as a process.</param>
    public static Errno Resolve(Task t, int clock, bool gettime, out Task? thread, out ThreadGroup? group, out int which)
    {
        thread = null;
        group = null;
        clock = clock switch
        {
            2 => ~0 << 3 | Sched, // CLOCK_PROCESS_CPUTIME_ID
            3 => ~0 << 3 | PerThread | Sched, // CLOCK_THREAD_CPUTIME_ID
            _ => clock,
        };
        which = clock & 3;
        if (clock >= 0 || which == 3)
        {
            return Errno.EINVAL;
        }

        int pid = ~(clock >> 3);
        if ((clock & PerThread) != 0)
        {
            Task? target = pid == 0 ? t : t.Kernel.FindTask(t.PidNs, pid);
            if (target == null || target.Group != t.Group)
            {
                return Errno.EINVAL;
            }

            thread = target;
            return Errno.None;
        }

        if (pid == 0 || (gettime && pid == t.Pid.In(t.PidNs)))
        {
            group = t.Group;
            return Errno.None;
        }

        lock (t.Kernel.TreeMu)
        {
            group = t.Kernel.FindGroupLocked(t.PidNs, pid);
        }

        return group == null ? Errno.EINVAL : Errno.None;
    }

    /// <summary>
    /// True for a negative id whose low bits are Linux's CLOCKFD (3): a dynamic clock on an fd (a PTP device),
    /// which Moat has none of. Linux's clock_gettime/getres answer EINVAL for them (no such device), and
    /// timer_create and clock_nanosleep EOPNOTSUPP.
    /// </summary>
    public static bool IsDynamicClock(int clock) => clock < 0 && (clock & 7) == 3;

    /// <summary>Reads a resolved clock, in nanoseconds.</summary>
    public static long Read(Kernel k, Task? thread, ThreadGroup? group, int which)
    {
        if (which == Virt)
        {
            return (thread != null ? ThreadTimes(thread) : ProcessTimes(k, group!)).User;
        }

        return thread != null ? ThreadRuntimeNs(thread) : ProcessRuntimeNs(k, group!);
    }

    /// <summary>The CPU time of a task's thread, in nanoseconds. Cheap: one host call.</summary>
    public static long ThreadRuntimeNs(Task t)
    {
        (long u, long s) = t.CpuBefore;
        return u + s + t.Context.ThreadCpuRuntimeNs();
    }

    /// <summary>A task's user and system time, in nanoseconds.</summary>
    public static (long User, long System) ThreadTimes(Task t)
    {
        (long u, long s) = t.Context.ThreadCpuTime();
        return (t.CpuBefore.User + u, t.CpuBefore.System + s);
    }

    /// <summary>The CPU time of a process, in nanoseconds. Cheap: one host call.</summary>
    public static long ProcessRuntimeNs(Kernel k, ThreadGroup g)
    {
        if (g.CpuByThreads)
        {
            (long u, long s) = ThreadSum(k, g);
            return u + s;
        }

        Task? any = AnyTask(k, g, out (long User, long System) final);
        if (any == null)
        {
            return final.User + final.System;
        }

        MemoryManager mm = any.MM;
        return g.CpuBefore.User + g.CpuBefore.System + (mm.HasAddressSpace ? mm.AddressSpace.CpuRuntimeNs() : 0);
    }

    /// <summary>A process's user and system time, in nanoseconds.</summary>
    public static (long User, long System) ProcessTimes(Kernel k, ThreadGroup g)
    {
        if (g.CpuByThreads)
        {
            return ThreadSum(k, g);
        }

        Task? any = AnyTask(k, g, out (long User, long System) final);
        if (any == null)
        {
            return final;
        }

        MemoryManager mm = any.MM;
        (long u, long s) = mm.HasAddressSpace ? mm.AddressSpace.CpuTime() : (0, 0);
        return (g.CpuBefore.User + u, g.CpuBefore.System + s);
    }

    // A process that shares its stub with another (ThreadGroup.CpuByThreads): its exited threads' time and its
    // live threads' clocks. A thread that exits meanwhile is counted once: its time joins the exited sum only
    // after the snapshot, and its clock, frozen at exit, is read here.
    private static (long User, long System) ThreadSum(Kernel k, ThreadGroup g)
    {
        Task[] live;
        (long User, long System) total;
        lock (k.TreeMu)
        {
            if (g.Tasks.Count == 0)
            {
                return g.CpuFinal;
            }

            total = g.CpuExitedThreads;
            live = [.. g.Tasks];
        }

        foreach (Task t in live)
        {
            (long u, long s) = ThreadTimes(t);
            total = (total.User + u, total.System + s);
        }

        return total;
    }

    private static Task? AnyTask(Kernel k, ThreadGroup g, out (long User, long System) final)
    {
        lock (k.TreeMu)
        {
            final = g.CpuFinal;
            return g.Tasks.Count > 0 ? g.Tasks[0] : null;
        }
    }
}
