using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// prctl(2)'s process options beyond names and capabilities (kernel/sys.c): the child subreaper, timer slack,
/// the tid address, THP, machine-check policy, perf events, the saved auxv, the I/O flusher flag and the
/// securebits, with Linux's argument checks.
/// </summary>
internal static partial class SysPrctl
{
    private const int PR_GET_SECUREBITS = 27;
    private const int PR_SET_SECUREBITS = 28;
    private const int PR_SET_TIMERSLACK = 29;
    private const int PR_GET_TIMERSLACK = 30;
    private const int PR_TASK_PERF_EVENTS_DISABLE = 31;
    private const int PR_TASK_PERF_EVENTS_ENABLE = 32;
    private const int PR_MCE_KILL = 33;
    private const int PR_MCE_KILL_GET = 34;
    private const int PR_SET_CHILD_SUBREAPER = 36;
    private const int PR_GET_CHILD_SUBREAPER = 37;
    private const int PR_GET_TID_ADDRESS = 40;
    private const int PR_SET_THP_DISABLE = 41;
    private const int PR_GET_THP_DISABLE = 42;
    private const int PR_SET_IO_FLUSHER = 57;
    private const int PR_GET_IO_FLUSHER = 58;
    private const int PR_GET_AUXV = 0x41555856;

    private const int PR_THP_DISABLE_EXCEPT_ADVISED = 1 << 1;

    /// <summary>sizeof(mm->saved_auxv) on x86-64: AT_VECTOR_SIZE (56) words, what PR_GET_AUXV answers.</summary>
    private const int SavedAuxvSize = 448;

    // Serves the options of this file; false for any other option.
    private static bool TryProcessOption(Task t, in SyscallArgs a, out long result)
    {
        bool extraArgs = (a[1] | a[2] | a[3] | a[4]) != 0;
        switch (a.Int(0))
        {
            case PR_SET_CHILD_SUBREAPER:
                result = SetChildSubreaper(t, a[1]);
                return true;
            case PR_GET_CHILD_SUBREAPER:
                result = t.MM.CopyOut(a.Pointer(1), t.Group.ChildSubreaper ? 1 : 0);
                return true;
            case PR_SET_TIMERSLACK:
                result = SetTimerSlack(t, a[1]);
                return true;
            case PR_GET_TIMERSLACK:
                result = (long)Math.Min(t.Prctl.TimerSlackNs, long.MaxValue);
                return true;
            case PR_GET_TID_ADDRESS:
                result = t.MM.CopyOut(a.Pointer(1), t.ClearChildTid);
                return true;
            case PR_SET_THP_DISABLE:
                result = SetThpDisable(t, a);
                return true;
            case PR_GET_THP_DISABLE:
                result = extraArgs ? -Errno.EINVAL.Value : t.MM.ThpDisable;
                return true;
            case PR_MCE_KILL:
                result = SetMceKill(t, a);
                return true;
            case PR_MCE_KILL_GET:
                result = extraArgs ? -Errno.EINVAL.Value : t.Prctl.MceKill;
                return true;
            case PR_TASK_PERF_EVENTS_DISABLE or PR_TASK_PERF_EVENTS_ENABLE:
                result = 0; // the sandbox has no perf events to switch
                return true;
            case PR_GET_AUXV:
                result = GetAuxv(t, a);
                return true;
            case PR_SET_IO_FLUSHER:
                result = SetIoFlusher(t, a);
                return true;
            case PR_GET_IO_FLUSHER:
                result = !t.Credentials.HasCapability(Credentials.CAP_SYS_RESOURCE) ? -Errno.EPERM.Value
                    : extraArgs ? -Errno.EINVAL.Value : t.Prctl.IoFlusher ? 1 : 0;
                return true;
            case PR_GET_SECUREBITS:
                result = t.Credentials.SecureBits;
                return true;
            case PR_SET_SECUREBITS:
                result = SetSecureBits(t, a[1]);
                return true;
            default:
                result = 0;
                return false;
        }
    }

    // Orphans of the process's descendants come to it rather than to init (find_new_reaper); not inherited.
    private static long SetChildSubreaper(Task t, ulong on)
    {
        lock (t.Kernel.TreeMu)
        {
            t.Group.ChildSubreaper = on != 0;
        }

        return 0;
    }

    // 0 restores the default (the parent's slack at clone); a real-time task's slack is not changed.
    private static long SetTimerSlack(Task t, ulong ns)
    {
        if (SchedAttr.IsRealTime(t.Sched.Policy) || t.Sched.Policy == SchedAttr.SCHED_DEADLINE)
        {
            return 0;
        }

        TaskPrctl p = t.Prctl;
        t.Prctl = p with { TimerSlackNs = ns == 0 ? p.DefaultTimerSlackNs : ns };
        return 0;
    }

    // arg2 on/off; arg3 may add PR_THP_DISABLE_EXCEPT_ADVISED (only when turning it on); arg4, arg5 zero.
    private static long SetThpDisable(Task t, in SyscallArgs a)
    {
        if ((a[3] | a[4]) != 0 || (a[2] & ~(ulong)PR_THP_DISABLE_EXCEPT_ADVISED) != 0 || (a[1] == 0 && a[2] != 0))
        {
            return -Errno.EINVAL.Value;
        }

        t.MM.ThpDisable = a[1] == 0 ? 0 : 1 | (int)a[2];
        return 0;
    }

    // PR_MCE_KILL_CLEAR (arg3 0) or PR_MCE_KILL_SET with LATE (0), EARLY (1) or DEFAULT (2).
    private static long SetMceKill(Task t, in SyscallArgs a)
    {
        if ((a[3] | a[4]) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        int policy;
        switch (a[1])
        {
            case 0 when a[2] == 0:
                policy = 2;
                break;
            case 1 when a[2] <= 2:
                policy = (int)a[2];
                break;
            default:
                return -Errno.EINVAL.Value;
        }

        t.Prctl = t.Prctl with { MceKill = policy };
        return 0;
    }

    // Copies up to arg3 bytes of the saved auxv (zero-padded to the kernel's array) and answers the array's size.
    private static long GetAuxv(Task t, in SyscallArgs a)
    {
        if ((a[3] | a[4]) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        int size = (int)Math.Min(a[2], SavedAuxvSize);
        if (size > 0)
        {
            Span<byte> all = stackalloc byte[SavedAuxvSize];
            all.Clear();
            byte[] saved = t.MM.SavedAuxv;
            saved.AsSpan(0, Math.Min(saved.Length, SavedAuxvSize)).CopyTo(all);
            if (t.MM.CopyOut(a.Pointer(1), all[..size]) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        return SavedAuxvSize;
    }

    private static long SetIoFlusher(Task t, in SyscallArgs a)
    {
        if (!t.Credentials.HasCapability(Credentials.CAP_SYS_RESOURCE))
        {
            return -Errno.EPERM.Value;
        }

        if ((a[2] | a[3] | a[4]) != 0 || a[1] > 1)
        {
            return -Errno.EINVAL.Value;
        }

        t.Prctl = t.Prctl with { IoFlusher = a[1] == 1 };
        return 0;
    }

    // cap_task_prctl's rule: no change of a locked bit, no unlocking, no unknown bit, and CAP_SETPCAP for anything.
    private static long SetSecureBits(Task t, ulong bits)
    {
        Credentials c = t.Credentials;
        ulong old = c.SecureBits;
        const ulong locks = Credentials.SecureAllBits << 1;
        if ((((old & locks) >> 1) & (old ^ bits)) != 0 || (old & locks & ~bits) != 0 ||
            (bits & ~(ulong)(Credentials.SecureAllBits | locks)) != 0 || !c.HasCapability(Credentials.CAP_SETPCAP))
        {
            return -Errno.EPERM.Value;
        }

        t.Credentials = c with { SecureBits = (uint)bits };
        return 0;
    }
}
