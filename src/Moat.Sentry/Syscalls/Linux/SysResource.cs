using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>getrusage(2) and times(2), from the CPU time the host counts for the stubs (<see cref="CpuClocks"/>).</summary>
internal static class SysResource
{
    private const int RUSAGE_SELF = 0;
    private const int RUSAGE_CHILDREN = -1;
    private const int RUSAGE_THREAD = 1;
    private const long TicksPerSecond = 100;
    private const long NsPerTick = 1_000_000_000 / TicksPerSecond;

    private static (long User, long System) Children(Task t)
    {
        lock (t.Kernel.TreeMu)
        {
            return t.Group.CpuChildren;
        }
    }

    /// <summary>Implements getrusage(2): the CPU time of the process, of its waited-for children, or of the calling thread.</summary>
    public static long Getrusage(Task t, in SyscallArgs a)
    {
        int who = a.Int(0);
        (long User, long System) cpu = who switch
        {
            RUSAGE_SELF => CpuClocks.ProcessTimes(t.Kernel, t.Group),
            RUSAGE_THREAD => CpuClocks.ThreadTimes(t),
            RUSAGE_CHILDREN => Children(t),
            _ => (-1, -1),
        };
        if (cpu.User < 0)
        {
            return -Errno.EINVAL.Value;
        }

        return CopyOutRusage(t, a.Pointer(1), cpu, who == RUSAGE_CHILDREN ? 0 : (long)(t.MM.ResidentBytes() / 1024));
    }

    /// <summary>Writes a struct rusage with the given CPU time (ns) and maximum resident set (KiB).</summary>
    public static long CopyOutRusage(Task t, ulong addr, (long User, long System) cpu, long maxRssKb)
    {
        Span<long> ru = stackalloc long[18];
        ru.Clear();
        ru[0] = cpu.User / 1_000_000_000;
        ru[1] = cpu.User % 1_000_000_000 / 1000;
        ru[2] = cpu.System / 1_000_000_000;
        ru[3] = cpu.System % 1_000_000_000 / 1000;
        ru[4] = maxRssKb;
        return t.MM.CopyOut(addr, System.Runtime.InteropServices.MemoryMarshal.AsBytes(ru));
    }

    /// <summary>Implements times(2).</summary>
    public static long Times(Task t, in SyscallArgs a)
    {
        if (a.Pointer(0) != 0)
        {
            (long u, long s) = CpuClocks.ProcessTimes(t.Kernel, t.Group);
            (long cu, long cs) = Children(t);
            Span<long> tms = [u / NsPerTick, s / NsPerTick, cu / NsPerTick, cs / NsPerTick];
            if (t.MM.CopyOut(a.Pointer(0), System.Runtime.InteropServices.MemoryMarshal.AsBytes(tms)) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        // Clock ticks since an arbitrary point: the sandbox's start.
        return (Environment.TickCount64 - t.Kernel.BootTicks) / (1000 / TicksPerSecond);
    }
}
