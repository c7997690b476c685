using System;
using System.IO;
using System.Numerics;
using System.Threading;
using Moat.Abi;

namespace Moat.Host;

/// <summary>
/// The CPUs the sandbox may run on (<c>moat do --cpus N</c>): an affinity mask on every thread of this
/// process, which threads and children started later inherit (stubs, the gofer). Anything that pins
/// threads itself must stay inside <see cref="AllowedMask"/>.
/// </summary>
public static unsafe class HostCpus
{
    private static ulong s_allowed = ulong.MaxValue;

    /// <summary>The CPUs (of the first 64) this process may use; all bits set when there is no limit.</summary>
    public static ulong AllowedMask => Volatile.Read(ref s_allowed);

    /// <summary>
    /// Limits this process to the first <paramref name="count"/> CPUs of those it may use now. Returns
    /// the number of CPUs it keeps, or -errno.
    /// </summary>
    public static long Limit(int count)
    {
        ulong* mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        long r = HostProcess.Syscall(Sysno.sched_getaffinity, 0, 128, (long)mask);
        if (r < 0)
        {
            return r;
        }

        ulong keep = 0;
        ulong current = mask[0];
        for (int cpu = 0; cpu < 64 && BitOperations.PopCount(keep) < count; cpu++)
        {
            if ((current & (1UL << cpu)) != 0)
            {
                keep |= 1UL << cpu;
            }
        }

        return Apply(keep);
    }

    /// <summary>
    /// Limits this process to the CPUs of <paramref name="allowed"/> (bit i is CPU i) that it may use now (an OCI
    /// spec's cpuset). Returns the number of CPUs it keeps, or -errno (-EINVAL when none of them is usable).
    /// </summary>
    public static long LimitTo(ulong allowed)
    {
        ulong* mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        long r = HostProcess.Syscall(Sysno.sched_getaffinity, 0, 128, (long)mask);
        if (r < 0)
        {
            return r;
        }

        ulong keep = mask[0] & allowed;
        return keep == 0 ? -Errno.EINVAL.Value : Apply(keep);
    }

    // Sets the mask on every thread of this process.
    private static long Apply(ulong keep)
    {
        ulong* mask = stackalloc ulong[16];
        long r;
        new Span<ulong>(mask, 16).Clear();
        mask[0] = keep;
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            if (int.TryParse(Path.GetFileName(task), out int tid))
            {
                r = HostProcess.Syscall(Sysno.sched_setaffinity, tid, 128, (long)mask);
                if (r < 0 && r != -Errno.ESRCH.Value)
                {
                    return r; // ESRCH: a thread that just ended
                }
            }
        }

        Volatile.Write(ref s_allowed, keep);
        return BitOperations.PopCount(keep);
    }
}
