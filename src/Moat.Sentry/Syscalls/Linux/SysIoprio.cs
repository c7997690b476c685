using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// ioprio_set(2) and ioprio_get(2): an I/O scheduling class and level per task, with Linux's checks
/// (block/ioprio.c). Nothing the sandbox does reaches a host block device, so the value is recorded, inherited
/// by clone and reported, and schedules nothing.
/// </summary>
internal static class SysIoprio
{
    private const int IOPRIO_WHO_PROCESS = 1;
    private const int IOPRIO_WHO_PGRP = 2;
    private const int IOPRIO_WHO_USER = 3;
    private const int IOPRIO_CLASS_SHIFT = 13;
    private const int IOPRIO_CLASS_NONE = 0;
    private const int IOPRIO_CLASS_RT = 1;
    private const int IOPRIO_CLASS_BE = 2;
    private const int IOPRIO_CLASS_IDLE = 3;

    private const int SCHED_IDLE = 5;

    /// <summary>Implements ioprio_set(2).</summary>
    public static long IoprioSet(Task t, in SyscallArgs a)
    {
        int which = a.Int(0);
        int who = a.Int(1);
        int ioprio = a.Int(2);
        long r = CheckCap(t, ioprio);
        if (r < 0)
        {
            return r;
        }

        if (which is < IOPRIO_WHO_PROCESS or > IOPRIO_WHO_USER)
        {
            return -Errno.EINVAL.Value;
        }

        long result = -Errno.ESRCH.Value;
        foreach (Task target in Targets(t, which, who))
        {
            // set_task_ioprio: the target's real uid must be the caller's real or effective one, or CAP_SYS_NICE.
            Credentials c = t.Credentials;
            uint targetUid = target.Credentials.RealUid;
            if (targetUid != c.EffectiveUid && targetUid != c.RealUid && !c.HasCapability(Credentials.CAP_SYS_NICE))
            {
                return -Errno.EPERM.Value;
            }

            target.IoPriority = (ushort)ioprio;
            result = 0;
        }

        return result;
    }

    /// <summary>
    /// Implements ioprio_get(2): a process's own value (0, IOPRIO_CLASS_NONE, until set); for a process group or
    /// a user, the best (lowest) of its tasks' values, a task without a class counting as what its scheduling
    /// gives it (best effort at level (nice + 20) / 5, real time for a real-time policy, idle for SCHED_IDLE).
    /// </summary>
    public static long IoprioGet(Task t, in SyscallArgs a)
    {
        int which = a.Int(0);
        if (which is < IOPRIO_WHO_PROCESS or > IOPRIO_WHO_USER)
        {
            return -Errno.EINVAL.Value;
        }

        long result = -Errno.ESRCH.Value;
        foreach (Task target in Targets(t, which, a.Int(1)))
        {
            int value = which == IOPRIO_WHO_PROCESS ? target.IoPriority : Effective(target);
            result = result < 0 ? value : Math.Min(result, value);
        }

        return result;
    }

    // ioprio_check_cap: the class must be one Linux knows, a real-time class needs CAP_SYS_NICE or CAP_SYS_ADMIN,
    // and no class may carry a level.
    internal static long CheckCap(Task t, int ioprio)
    {
        int cls = (ioprio >> IOPRIO_CLASS_SHIFT) & 7;
        int level = ioprio & 7;
        switch (cls)
        {
            case IOPRIO_CLASS_RT:
                Credentials c = t.Credentials;
                return c.HasCapability(Credentials.CAP_SYS_NICE) || c.HasCapability(Credentials.CAP_SYS_ADMIN) ? 0 : -Errno.EPERM.Value;
            case IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE:
                return 0;
            case IOPRIO_CLASS_NONE:
                return level != 0 ? -Errno.EINVAL.Value : 0;
            default:
                return -Errno.EINVAL.Value;
        }
    }

    // A task's priority with a missing class read from its scheduling, as Linux's __get_task_ioprio does.
    private static int Effective(Task task)
    {
        int value = task.IoPriority;
        if ((value >> IOPRIO_CLASS_SHIFT) != IOPRIO_CLASS_NONE)
        {
            return value;
        }

        SchedAttr s = task.Sched;
        int cls = s.Policy == SCHED_IDLE ? IOPRIO_CLASS_IDLE : SchedAttr.IsRealTime(s.Policy) ? IOPRIO_CLASS_RT : IOPRIO_CLASS_BE;
        return (cls << IOPRIO_CLASS_SHIFT) | ((s.Nice + 20) / 5);
    }

    // The live tasks which/who name: a thread (0: the caller), every thread of a process group (0: the caller's),
    // or every thread whose real uid is who (0 is root's, as Linux reads it).
    private static List<Task> Targets(Task t, int which, int who)
    {
        var list = new List<Task>();
        if (which == IOPRIO_WHO_PROCESS)
        {
            if (SysSched.Find(t, who) is Task one)
            {
                list.Add(one);
            }

            return list;
        }

        int pgid = who == 0 ? t.Group.ProcessGroup : who;
        List<ThreadGroup> groups = t.Kernel.LiveGroups();
        lock (t.Kernel.TreeMu)
        {
            foreach (ThreadGroup g in groups)
            {
                if (which == IOPRIO_WHO_PGRP && g.ProcessGroup != pgid)
                {
                    continue;
                }

                foreach (Task task in g.Tasks)
                {
                    if (which == IOPRIO_WHO_PGRP || task.Credentials.RealUid == (uint)who)
                    {
                        list.Add(task);
                    }
                }
            }
        }

        return list;
    }
}
