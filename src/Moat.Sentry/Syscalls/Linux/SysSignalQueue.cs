using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>Waiting for signals synchronously (rt_sigtimedwait) and queueing them with a siginfo (rt_*sigqueueinfo).</summary>
internal static class SysSignalQueue
{
    private const ulong UnblockableMask = (1UL << (Signal.SIGKILL - 1)) | (1UL << (Signal.SIGSTOP - 1));

    /// <summary>Implements rt_sigtimedwait(2): takes a pending signal of the set, waiting for one if need be.</summary>
    public static long RtSigtimedwait(Task t, in SyscallArgs a)
    {
        if (a.SizeT(3) != 8)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyIn(a.Pointer(0), out ulong set) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        set &= ~UnblockableMask;
        int timeoutMs = -1;
        if (a.Pointer(2) != 0)
        {
            if (t.MM.CopyIn(a.Pointer(2), out Timespec ts) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1_000_000_000)
            {
                return -Errno.EINVAL.Value;
            }

            // Round up to whole milliseconds: never return before the time asked for.
            long ms = ts.tv_sec > int.MaxValue / 1000 ? int.MaxValue : (ts.tv_sec * 1000) + ((ts.tv_nsec + 999_999) / 1_000_000);
            timeoutMs = (int)Math.Min(ms, int.MaxValue);
        }

        SigInfo info;
        while (!t.TryDequeue(set, out info))
        {
            if (timeoutMs == 0)
            {
                return -Errno.EAGAIN.Value;
            }

            long r = t.Block(t.SignalQueued, () => (t.PendingSignals & set) != 0, timeoutMs);
            if (r == -Errno.ETIMEDOUT.Value)
            {
                return -Errno.EAGAIN.Value;
            }

            if (r < 0 && !t.TryDequeue(set, out info))
            {
                // Woken by a signal outside the set: like Linux, the call is not restarted.
                return -Errno.EINTR.Value;
            }

            if (r < 0)
            {
                break;
            }
        }

        if (a.Pointer(1) != 0 && t.MM.CopyOut(a.Pointer(1), info) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return info.si_signo;
    }

    /// <summary>Implements rt_sigqueueinfo(2): a process-directed signal with the caller's siginfo.</summary>
    public static long RtSigqueueinfo(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        int sig = a.Int(1);
        if (t.MM.CopyIn(a.Pointer(2), out SigInfo info) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        // Only the kernel may claim kernel codes or tkill's, except to oneself.
        if ((info.si_code >= 0 || info.si_code == SigInfo.SI_TKILL) && pid != t.Group.Pid.In(t.PidNs))
        {
            return -Errno.EPERM.Value;
        }

        ThreadGroup? g = t.Kernel.FindGroup(t.PidNs, pid);
        if (pid <= 0 || g == null)
        {
            return -Errno.ESRCH.Value;
        }

        if (sig < 0 || sig > Signal.SIGRTMAX)
        {
            return -Errno.EINVAL.Value;
        }

        Task? target;
        lock (t.Kernel.TreeMu)
        {
            target = g.Zombie ? null : g.SignalTarget(sig == 0 ? 1 : sig);
        }

        if (!SignalPermission.MayKillProcess(t, g, sig))
        {
            return -Errno.EPERM.Value;
        }

        if (target != null && sig != 0 && !InitSignals.DropsFromInside(t, g, sig))
        {
            info.si_signo = sig;
            target.SendSignal(sig, info);
        }

        return 0;
    }

    /// <summary>Implements rt_tgsigqueueinfo(2): a thread-directed signal with the caller's siginfo.</summary>
    public static long RtTgsigqueueinfo(Task t, in SyscallArgs a)
    {
        int tgid = a.Int(0);
        int tid = a.Int(1);
        int sig = a.Int(2);
        if (t.MM.CopyIn(a.Pointer(3), out SigInfo info) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (tgid <= 0 || tid <= 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((info.si_code >= 0 || info.si_code == SigInfo.SI_TKILL) && tid != t.Pid.In(t.PidNs))
        {
            return -Errno.EPERM.Value;
        }

        Task? target = t.Kernel.FindTask(t.PidNs, tid);
        if (target == null || target.Group.Pid.In(t.PidNs) != tgid)
        {
            return -Errno.ESRCH.Value;
        }

        if (sig < 0 || sig > Signal.SIGRTMAX)
        {
            return -Errno.EINVAL.Value;
        }

        if (!SignalPermission.MayKill(t, target, sig))
        {
            return -Errno.EPERM.Value;
        }

        if (sig != 0 && !InitSignals.DropsFromInside(t, target.Group, sig))
        {
            info.si_signo = sig;
            target.SendSignal(sig, info);
        }

        return 0;
    }
}
