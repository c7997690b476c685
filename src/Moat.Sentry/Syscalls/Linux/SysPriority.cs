using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// getpriority(2) and setpriority(2): nice values per thread, for one thread (PRIO_PROCESS takes any tid), a
/// process group or a user, with Linux's rules (kernel/sys.c). Root in the sandbox holds CAP_SYS_NICE.
/// </summary>
internal static class SysPriority
{
    private const int PRIO_PROCESS = 0;
    private const int PRIO_PGRP = 1;
    private const int PRIO_USER = 2;
    private const int MinNice = -20;
    private const int MaxNice = 19;

    /// <summary>
    /// Implements getpriority(2). The raw syscall answers 20 - nice (1..40) so that no success looks like an
    /// error; glibc turns it back. With several tasks, the highest priority (lowest nice) wins.
    /// </summary>
    public static long Getpriority(Task t, in SyscallArgs a)
    {
        int which = a.Int(0);
        if (which is < PRIO_PROCESS or > PRIO_USER)
        {
            return -Errno.EINVAL.Value;
        }

        if (which == PRIO_PROCESS)
        {
            // The common case, without a list.
            Task? one = SysSched.Find(t, a.Int(1));
            return one == null ? -Errno.ESRCH.Value : 20 - one.Sched.Nice;
        }

        long result = -Errno.ESRCH.Value;
        foreach (Task target in Targets(t, which, a.Int(1)))
        {
            result = Math.Max(result, 20 - target.Sched.Nice);
        }

        return result;
    }

    /// <summary>
    /// Implements setpriority(2): clamps the value to -20..19; EPERM for another user's task, EACCES for a lower
    /// nice than RLIMIT_NICE allows; with several tasks, every one is tried and the last failure is reported.
    /// </summary>
    public static long Setpriority(Task t, in SyscallArgs a)
    {
        int which = a.Int(0);
        if (which is < PRIO_PROCESS or > PRIO_USER)
        {
            return -Errno.EINVAL.Value;
        }

        int nice = Math.Clamp(a.Int(2), MinNice, MaxNice);
        long error = -Errno.ESRCH.Value;
        List<Task> targets = Targets(t, which, a.Int(1));
        lock (SysSched.Mu)
        {
            foreach (Task target in targets)
            {
                error = SetOne(t, target, nice, error);
            }
        }

        return error;
    }

    /// <summary>Linux's is_nice_reduction: whether RLIMIT_NICE lets <paramref name="target"/> run at <paramref name="nice"/>.</summary>
    public static bool IsNiceReduction(Task target, int nice) =>
        (ulong)(20 - nice) <= target.Group.Limit(RlimitResource.RLIMIT_NICE).rlim_cur;

    // set_one_prio: keeps the first error's place unless a task succeeds while the result is still ESRCH.
    private static long SetOne(Task t, Task target, int nice, long error)
    {
        Credentials c = t.Credentials;
        Credentials o = target.Credentials;
        if (!c.HasCapability(Credentials.CAP_SYS_NICE) && o.RealUid != c.EffectiveUid && o.EffectiveUid != c.EffectiveUid)
        {
            return -Errno.EPERM.Value;
        }

        SchedAttr cur = target.Sched;
        if (nice < cur.Nice && !c.HasCapability(Credentials.CAP_SYS_NICE) && !IsNiceReduction(target, nice))
        {
            return -Errno.EACCES.Value;
        }

        target.Sched = cur with { Nice = nice };
        return error == -Errno.ESRCH.Value ? 0 : error;
    }

    // The live tasks that which/who name; who 0 is the caller, its process group or its real uid.
    private static List<Task> Targets(Task t, int which, int who)
    {
        var list = new List<Task>();
        if (which == PRIO_PROCESS)
        {
            Task? one = SysSched.Find(t, who);
            if (one != null)
            {
                list.Add(one);
            }

            return list;
        }

        int pgid = who == 0 ? t.Group.ProcessGroup : who;
        uint uid = who == 0 ? t.Credentials.RealUid : (uint)who;
        List<ThreadGroup> groups = t.Kernel.LiveGroups();
        lock (t.Kernel.TreeMu)
        {
            foreach (ThreadGroup g in groups)
            {
                if (which == PRIO_PGRP && g.ProcessGroup != pgid)
                {
                    continue;
                }

                foreach (Task task in g.Tasks)
                {
                    if (which == PRIO_PGRP || task.Credentials.RealUid == uid)
                    {
                        list.Add(task);
                    }
                }
            }
        }

        return list;
    }
}
