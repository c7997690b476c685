using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// sched_setaffinity(2) and sched_getaffinity(2) over the sandbox's CPUs (0 to ProcessorCount-1): a task's mask is
/// stored, inherited and reported; the host still runs every task on any CPU the sandbox has.
/// </summary>
internal static class SysAffinity
{
    /// <summary>Implements sched_setaffinity(2) as Linux: ESRCH, EPERM unless the same owner or CAP_SYS_NICE, EINVAL for a mask without a sandbox CPU.</summary>
    public static long SchedSetaffinity(Task t, in SyscallArgs a)
    {
        int words = MaskWords();
        ulong len = a.SizeT(1);
        Span<ulong> mask = stackalloc ulong[words];
        mask.Clear();
        int bytes = (int)Math.Min(len, (ulong)(words * 8));
        if (t.MM.CopyIn(a.Pointer(2), MemoryMarshal.AsBytes(mask)[..bytes]) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        Task? target = FindTarget(t, a.Int(0));
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        Credentials c = t.Credentials;
        Credentials o = target.Credentials;
        if (c.EffectiveUid != o.EffectiveUid && c.EffectiveUid != o.RealUid && !c.HasCapability(Credentials.CAP_SYS_NICE))
        {
            return -Errno.EPERM.Value;
        }

        bool any = false;
        bool all = true;
        int cpus = Environment.ProcessorCount;
        for (int i = 0; i < words; i++)
        {
            mask[i] &= SandboxWord(i, cpus);
            any |= mask[i] != 0;
            all &= mask[i] == SandboxWord(i, cpus);
        }

        if (!any)
        {
            return -Errno.EINVAL.Value;
        }

        target.CpuMask = all ? null : mask.ToArray();
        return 0;
    }

    /// <summary>Implements sched_getaffinity(2): the task's mask, in as many bytes as the sandbox's CPU mask has.</summary>
    public static long SchedGetaffinity(Task t, in SyscallArgs a)
    {
        int words = MaskWords();
        ulong len = a.SizeT(1);
        if (len * 8 < (ulong)Environment.ProcessorCount || (len & 7) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        Task? target = FindTarget(t, a.Int(0));
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        ulong[]? stored = target.CpuMask;
        int cpus = Environment.ProcessorCount;
        Span<ulong> mask = stackalloc ulong[words];
        for (int i = 0; i < words; i++)
        {
            mask[i] = stored != null ? stored[i] : SandboxWord(i, cpus);
        }

        int bytes = (int)Math.Min(len, (ulong)(words * 8));
        long r = t.MM.CopyOut(a.Pointer(2), MemoryMarshal.AsBytes(mask)[..bytes]);
        return r < 0 ? -Errno.EFAULT.Value : bytes;
    }

    private static Task? FindTarget(Task t, int pid) => pid == 0 ? t : pid < 0 ? null : t.Kernel.FindTask(t.PidNs, pid);

    // Linux's cpumask_size(): whole longs covering every CPU.
    private static int MaskWords() => (Environment.ProcessorCount + 63) / 64;

    // The sandbox's CPUs within word i of the mask.
    private static ulong SandboxWord(int i, int cpus)
    {
        int bits = cpus - (i * 64);
        return bits >= 64 ? ulong.MaxValue : bits <= 0 ? 0 : (1UL << bits) - 1;
    }
}
