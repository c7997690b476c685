using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// sched_{get,set}{param,scheduler}(2), sched_get_priority_{max,min}(2) and sched_rr_get_interval(2), with
/// Linux's argument and permission rules (kernel/sched/syscalls.c). Root in the sandbox holds CAP_SYS_NICE.
/// </summary>
internal static class SysSched
{
    private const int MaxRtPriority = 99;
    private const int SetParamPolicy = -1;

    /// <summary>Serializes every change of a task's <see cref="SchedAttr"/> (rare; readers need no lock).</summary>
    public static Lock Mu { get; } = new();

    /// <summary>The task a scheduling call names: itself for 0, else any thread by id.</summary>
    public static Task? Find(Task t, int pid) => pid == 0 ? t : t.Kernel.FindTask(t.PidNs, pid);

    /// <summary>Implements sched_setscheduler(2).</summary>
    public static long SchedSetscheduler(Task t, in SyscallArgs a)
    {
        int policy = a.Int(1);
        return policy < 0 ? -Errno.EINVAL.Value : Set(t, a.Int(0), policy, a.Pointer(2));
    }

    /// <summary>Implements sched_setparam(2): the priority within the current policy.</summary>
    public static long SchedSetparam(Task t, in SyscallArgs a) => Set(t, a.Int(0), SetParamPolicy, a.Pointer(1));

    /// <summary>Implements sched_getscheduler(2).</summary>
    public static long SchedGetscheduler(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        if (pid < 0)
        {
            return -Errno.EINVAL.Value;
        }

        Task? target = Find(t, pid);
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        SchedAttr s = target.Sched;
        return s.Policy | (s.ResetOnFork ? SchedAttr.SCHED_RESET_ON_FORK : 0);
    }

    /// <summary>Implements sched_getparam(2): the real-time priority, 0 for other policies.</summary>
    public static long SchedGetparam(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        if (a.Pointer(1) == 0 || pid < 0)
        {
            return -Errno.EINVAL.Value;
        }

        Task? target = Find(t, pid);
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        SchedAttr s = target.Sched;
        int priority = SchedAttr.IsRealTime(s.Policy) ? s.RtPriority : 0;
        return t.MM.CopyOut(a.Pointer(1), priority) < 0 ? -Errno.EFAULT.Value : 0;
    }

    /// <summary>Implements sched_get_priority_max(2).</summary>
    public static long SchedGetPriorityMax(Task t, in SyscallArgs a) => PriorityRange(a.Int(0), MaxRtPriority);

    /// <summary>Implements sched_get_priority_min(2).</summary>
    public static long SchedGetPriorityMin(Task t, in SyscallArgs a) => PriorityRange(a.Int(0), 1);

    /// <summary>
    /// Implements sched_rr_get_interval(2): SCHED_RR's 100 ms time slice (sched_rr_timeslice_ms), 0 for FIFO and
    /// for the fair policies (Linux's fair slice is under a jiffy unless HZ is 1000).
    /// </summary>
    public static long SchedRrGetInterval(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        if (pid < 0)
        {
            return -Errno.EINVAL.Value;
        }

        Task? target = Find(t, pid);
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        var ts = new Timespec { tv_sec = 0, tv_nsec = target.Sched.Policy == SchedAttr.SCHED_RR ? 100_000_000 : 0 };
        return t.MM.CopyOut(a.Pointer(1), ts) < 0 ? -Errno.EFAULT.Value : 0;
    }

    // sched_get_priority_{max,min}: the real-time range, 0 for the other policies Linux knows (SCHED_EXT is 7).
    private static long PriorityRange(int policy, int realTimeBound) => policy switch
    {
        SchedAttr.SCHED_FIFO or SchedAttr.SCHED_RR => realTimeBound,
        SchedAttr.SCHED_NORMAL or SchedAttr.SCHED_BATCH or SchedAttr.SCHED_IDLE or SchedAttr.SCHED_DEADLINE or 7 => 0,
        _ => -Errno.EINVAL.Value,
    };

    // do_sched_setscheduler and __sched_setscheduler, for the policies sched_param can describe.
    private static long Set(Task t, int pid, int policyArg, ulong paramAddr)
    {
        if (paramAddr == 0 || pid < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyIn(paramAddr, out int priority) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        Task? target = Find(t, pid);
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        lock (Mu)
        {
            SchedAttr cur = target.Sched;
            int policy = policyArg;
            bool resetOnFork = cur.ResetOnFork;
            if (policyArg != SetParamPolicy)
            {
                resetOnFork = (policyArg & SchedAttr.SCHED_RESET_ON_FORK) != 0;
                policy = policyArg & ~SchedAttr.SCHED_RESET_ON_FORK;
                if (policy is not (SchedAttr.SCHED_NORMAL or SchedAttr.SCHED_FIFO or SchedAttr.SCHED_RR or SchedAttr.SCHED_BATCH or SchedAttr.SCHED_IDLE or SchedAttr.SCHED_DEADLINE))
                {
                    return -Errno.EINVAL.Value;
                }
            }
            else
            {
                policy = cur.Policy;
            }

            // Real-time policies take 1..99, the others 0; SCHED_DEADLINE needs sched_setattr's parameters.
            if ((uint)priority > MaxRtPriority || policy == SchedAttr.SCHED_DEADLINE ||
                SchedAttr.IsRealTime(policy) != (priority != 0))
            {
                return -Errno.EINVAL.Value;
            }

            if (!t.Credentials.HasCapability(Credentials.CAP_SYS_NICE) && !UnprivilegedMay(t, target, cur, policy, priority, resetOnFork))
            {
                return -Errno.EPERM.Value;
            }

            target.Sched = cur with { Policy = policy, RtPriority = priority, ResetOnFork = resetOnFork };
            return 0;
        }
    }

    // Linux's user_check_sched_setscheduler without CAP_SYS_NICE.
    internal static bool UnprivilegedMay(Task t, Task target, SchedAttr cur, int policy, int priority, bool resetOnFork)
    {
        if (SchedAttr.IsRealTime(policy))
        {
            ulong rtprio = target.Group.Limit(RlimitResource.RLIMIT_RTPRIO).rlim_cur;
            if ((policy != cur.Policy && rtprio == 0) || ((uint)priority > (uint)cur.RtPriority && (ulong)priority > rtprio))
            {
                return false;
            }
        }

        // Leaving SCHED_IDLE counts as raising the priority from nice 20.
        if (cur.Policy == SchedAttr.SCHED_IDLE && policy != SchedAttr.SCHED_IDLE && !SysPriority.IsNiceReduction(target, cur.Nice))
        {
            return false;
        }

        Credentials c = t.Credentials;
        Credentials o = target.Credentials;
        if (c.EffectiveUid != o.EffectiveUid && c.EffectiveUid != o.RealUid)
        {
            return false;
        }

        return !cur.ResetOnFork || resetOnFork;
    }
}
