using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>Signal actions, masks and alternate stacks (recorded; delivery comes with the signals work).</summary>
internal static class SysSignal
{
    private const int SIG_BLOCK = 0;
    private const int SIG_UNBLOCK = 1;
    private const int SIG_SETMASK = 2;
    private const ulong UnblockableMask = (1UL << (Signal.SIGKILL - 1)) | (1UL << (Signal.SIGSTOP - 1));

    /// <summary>Implements rt_sigaction(2).</summary>
    public static long RtSigaction(Task t, in SyscallArgs a)
    {
        int sig = a.Int(0);
        ulong newAddr = a.Pointer(1);
        ulong oldAddr = a.Pointer(2);
        if (a.SizeT(3) != 8)
        {
            return -Errno.EINVAL.Value;
        }

        if (sig < 1 || sig > Signal.SIGRTMAX)
        {
            return -Errno.EINVAL.Value;
        }

        SignalAction next = default;
        if (newAddr != 0)
        {
            if (t.MM.CopyIn(newAddr, out next) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (sig == Signal.SIGKILL || sig == Signal.SIGSTOP)
            {
                return -Errno.EINVAL.Value;
            }
        }

        SignalAction old = t.Group.SignalActions[sig];
        if (oldAddr != 0 && t.MM.CopyOut(oldAddr, old) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (newAddr != 0)
        {
            next.Mask &= ~UnblockableMask;
            t.Group.SignalActions[sig] = next;
            if (next.Handler == SignalAction.SIG_IGN || (next.Handler == SignalAction.SIG_DFL && Task.IsDefaultIgnored(sig)))
            {
                // An ignored signal is not left pending, even where it is blocked (POSIX, and Linux's do_sigaction).
                DiscardFromGroup(t, 1UL << (sig - 1));
            }
        }

        return 0;
    }

    private static void DiscardFromGroup(Task t, ulong mask)
    {
        lock (t.Kernel.TreeMu)
        {
            foreach (Task o in t.Group.Tasks)
            {
                o.DiscardPendingMask(mask);
            }
        }
    }

    /// <summary>Implements rt_sigprocmask(2).</summary>
    public static long RtSigprocmask(Task t, in SyscallArgs a)
    {
        int how = a.Int(0);
        ulong setAddr = a.Pointer(1);
        ulong oldAddr = a.Pointer(2);
        if (a.SizeT(3) != 8)
        {
            return -Errno.EINVAL.Value;
        }

        ulong old = t.SignalMask;
        if (setAddr != 0)
        {
            if (t.MM.CopyIn(setAddr, out ulong set) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            set &= ~UnblockableMask;
            switch (how)
            {
                case SIG_BLOCK:
                    t.SignalMask = old | set;
                    break;
                case SIG_UNBLOCK:
                    t.SignalMask = old & ~set;
                    break;
                case SIG_SETMASK:
                    t.SignalMask = set;
                    break;
                default:
                    return -Errno.EINVAL.Value;
            }
        }

        if (oldAddr != 0 && t.MM.CopyOut(oldAddr, old) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return 0;
    }

    /// <summary>Implements kill(2).</summary>
    public static long Kill(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        int sig = a.Int(1);
        if (sig < 0 || sig > Signal.SIGRTMAX || pid == int.MinValue)
        {
            return -Errno.EINVAL.Value;
        }

        var targets = new List<ThreadGroup>();
        if (pid > 0)
        {
            ThreadGroup? g = t.Kernel.FindGroup(t.PidNs, pid);
            if (g != null)
            {
                targets.Add(g);
            }
        }
        else
        {
            int pgid;
            lock (t.Kernel.TreeMu)
            {
                pgid = pid == 0 ? t.Group.ProcessGroup : t.PidNs.GlobalOfLocked(-pid);
            }

            foreach (ThreadGroup g in t.Kernel.LiveGroups())
            {
                // kill(-1) reaches everything the caller's pid namespace shows but its init and the caller.
                int seen = g.Pid.In(t.PidNs);
                if (pid == -1 ? seen != 0 && g != t.Group && (t.PidNs.Level == 0 ? g != t.Kernel.Init : seen != 1) : pgid != 0 && g.ProcessGroup == pgid)
                {
                    targets.Add(g);
                }
            }
        }

        // As Linux: one process answers its own error; a process group succeeds if any member took the signal,
        // else answers the last error; kill(-1) ignores EPERM and fails only when there was nobody to signal.
        bool success = false;
        long last = -Errno.ESRCH.Value;
        long broadcast = 0;
        foreach (ThreadGroup g in targets)
        {
            Task? target;
            lock (t.Kernel.TreeMu)
            {
                target = g.Zombie ? null : g.SignalTarget(sig == 0 ? 1 : sig);
            }

            long r = 0;
            if (!SignalPermission.MayKillProcess(t, g, sig))
            {
                r = -Errno.EPERM.Value;
            }
            else if (target != null && sig != 0 && !InitSignals.DropsFromInside(t, g, sig))
            {
                target.SendSignal(sig, t.Group.Pid.In(g.PidNs), t.Credentials.RealUid);
            }

            success |= r == 0;
            last = r;
            if (r != -Errno.EPERM.Value)
            {
                broadcast = r;
            }
        }

        if (pid == -1)
        {
            return targets.Count > 0 ? broadcast : -Errno.ESRCH.Value;
        }

        return success ? 0 : last;
    }

    /// <summary>Implements tkill(2).</summary>
    public static long Tkill(Task t, in SyscallArgs a) => SignalThread(t, -1, a.Int(0), a.Int(1));

    /// <summary>Implements tgkill(2).</summary>
    public static long Tgkill(Task t, in SyscallArgs a) => SignalThread(t, a.Int(0), a.Int(1), a.Int(2));

    private static long SignalThread(Task t, int tgid, int tid, int sig)
    {
        if ((tgid != -1 && tgid <= 0) || tid <= 0 || sig < 0 || sig > Signal.SIGRTMAX)
        {
            return -Errno.EINVAL.Value;
        }

        Task? target = t.Kernel.FindTask(t.PidNs, tid);
        if (target == null || (tgid != -1 && target.Group.Pid.In(t.PidNs) != tgid))
        {
            return -Errno.ESRCH.Value;
        }

        if (!SignalPermission.MayKill(t, target, sig))
        {
            return -Errno.EPERM.Value;
        }

        if (sig != 0 && !InitSignals.DropsFromInside(t, target.Group, sig))
        {
            target.SendSignal(sig, new SigInfo { si_signo = sig, si_code = SigInfo.SI_TKILL, si_pid = t.Group.Pid.In(target.PidNs), si_uid = (int)t.Credentials.RealUid });
        }

        return 0;
    }

    /// <summary>Implements rt_sigreturn(2).</summary>
    public static long RtSigreturn(Task t, in SyscallArgs a) => t.SigReturn();

    /// <summary>Implements rt_sigpending(2).</summary>
    public static long RtSigpending(Task t, in SyscallArgs a)
    {
        if (a.SizeT(1) != 8)
        {
            return -Errno.EINVAL.Value;
        }

        return t.MM.CopyOut(a.Pointer(0), t.PendingSignals & t.SignalMask);
    }

    /// <summary>Implements pause(2).</summary>
    public static long Pause(Task t, in SyscallArgs a)
    {
        t.Block(null, static () => false);
        return -Errno.ERESTARTNOHAND.Value;
    }

    /// <summary>Implements rt_sigsuspend(2): waits with a temporary mask; the handler runs with it, then the old mask returns.</summary>
    public static long RtSigsuspend(Task t, in SyscallArgs a)
    {
        if (a.SizeT(1) != 8)
        {
            return -Errno.EINVAL.Value;
        }

        if (t.MM.CopyIn(a.Pointer(0), out ulong mask) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        ulong old = t.SignalMask;
        t.SignalMask = mask;
        t.Block(null, static () => false);
        t.SavedMaskForSigsuspend = old;

        // EINTR once a handler runs; woken by anything else (a stop, then SIGCONT), it waits again.
        return -Errno.ERESTARTNOHAND.Value;
    }

    /// <summary>Implements sigaltstack(2) (recorded only).</summary>
    public static long Sigaltstack(Task t, in SyscallArgs a)
    {
        const int SS_ONSTACK = 1;
        const int SS_DISABLE = 2;
        const int SS_AUTODISARM = unchecked((int)0x80000000);
        const ulong MinSigStkSz = 2048;

        ulong newAddr = a.Pointer(0);
        ulong oldAddr = a.Pointer(1);

        // stack_t: ss_sp (u64), ss_flags (i32, padded), ss_size (u64).
        if (oldAddr != 0)
        {
            System.Span<ulong> cur = [t.AltStackBase, (ulong)(uint)(t.AltStackSize == 0 ? SS_DISABLE : 0), t.AltStackSize];
            if (t.MM.CopyOut(oldAddr, System.Runtime.InteropServices.MemoryMarshal.AsBytes(cur)) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        if (newAddr != 0)
        {
            System.Span<ulong> ss = stackalloc ulong[3];
            if (t.MM.CopyIn(newAddr, System.Runtime.InteropServices.MemoryMarshal.AsBytes(ss)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            int flags = (int)ss[1];
            if ((flags & ~(SS_DISABLE | SS_AUTODISARM | SS_ONSTACK)) != 0)
            {
                return -Errno.EINVAL.Value;
            }

            if ((flags & SS_DISABLE) != 0)
            {
                t.AltStackBase = 0;
                t.AltStackSize = 0;
                return 0;
            }

            if (ss[2] < MinSigStkSz)
            {
                return -Errno.ENOMEM.Value;
            }

            t.AltStackBase = ss[0];
            t.AltStackSize = ss[2];
        }

        return 0;
    }
}
