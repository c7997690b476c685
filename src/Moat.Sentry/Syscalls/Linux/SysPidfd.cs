using System.Numerics;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2); waitid(P_PIDFD) and CLONE_PIDFD live with the process calls.</summary>
internal static class SysPidfd
{
    private const uint PIDFD_SIGNAL_THREAD = 1;
    private const uint PIDFD_SIGNAL_THREAD_GROUP = 2;
    private const uint PIDFD_SIGNAL_PROCESS_GROUP = 4;

    /// <summary>
    /// Implements pidfd_open(2) for processes: EINVAL for flags but PIDFD_NONBLOCK (PIDFD_THREAD is not supported),
    /// and for pid ≤ 0; ENOENT for a thread that leads no process (as Linux 6.x); ESRCH for no such process. The fd
    /// is close-on-exec.
    /// </summary>
    public static long PidfdOpen(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        uint flags = a.UInt(1);
        if ((flags & ~(uint)OpenFlags.O_NONBLOCK) != 0 || (a[1] >> 32) != 0 || pid <= 0)
        {
            return -Errno.EINVAL.Value;
        }

        ThreadGroup? g;
        lock (t.Kernel.TreeMu)
        {
            g = t.Kernel.FindGroupLocked(t.PidNs, pid);
        }

        if (g == null)
        {
            return t.Kernel.FindTask(t.PidNs, pid) != null ? -Errno.ENOENT.Value : -Errno.ESRCH.Value;
        }

        return Install(t, g, (int)flags);
    }

    /// <summary>Installs a new pidfd for <paramref name="g"/> at the lowest free fd, close-on-exec. Returns the fd or -errno.</summary>
    public static int Install(Task t, ThreadGroup g, int flags)
    {
        var p = new PidFd(t.Kernel, g, flags);
        int fd = t.Fds.Add(p, cloexec: true, 0, (int)System.Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue));
        p.DecRef();
        return fd;
    }

    /// <summary>The process behind a pidfd, or -EBADF if fd is not one.</summary>
    public static long Resolve(Task t, int fd, out ThreadGroup? group, out bool nonBlocking) => Resolve(t, fd, procDirectory: false, out group, out nonBlocking);

    /// <summary>
    /// The process behind a pidfd, or with <paramref name="procDirectory"/> also behind an open /proc/PID directory
    /// (pidfd_send_signal's pidfd_to_pid; the other pidfd calls take pidfds only); -EBADF for any other fd.
    /// </summary>
    public static long Resolve(Task t, int fd, bool procDirectory, out ThreadGroup? group, out bool nonBlocking)
    {
        group = null;
        nonBlocking = false;
        FileDescription? f = t.Fds.Get(fd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        if (f is PidFd p)
        {
            group = p.Group;
            nonBlocking = (p.StatusFlags & OpenFlags.O_NONBLOCK) != 0;
        }
        else if (procDirectory && f is SnapshotDirectory { Process: ThreadGroup shown })
        {
            group = shown;
        }

        f.DecRef();
        return group == null ? -Errno.EBADF.Value : 0;
    }

    /// <summary>Implements pidfd_send_signal(2) with Linux's checks in its order; permission as kill(2).</summary>
    public static long PidfdSendSignal(Task t, in SyscallArgs a)
    {
        int sig = a.Int(1);
        ulong infoAddr = a.Pointer(2);
        uint flags = a.UInt(3);
        if ((a[3] >> 32) != 0 || (flags & ~(PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP)) != 0 ||
            BitOperations.PopCount(flags) > 1)
        {
            return -Errno.EINVAL.Value;
        }

        long r = Resolve(t, a.Int(0), procDirectory: true, out ThreadGroup? g, out _);
        if (r < 0)
        {
            return r;
        }

        SigInfo info;
        if (infoAddr != 0)
        {
            if (t.MM.CopyIn(infoAddr, out info) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (info.si_signo != sig)
            {
                return -Errno.EINVAL.Value;
            }

            // Only the process itself (its leader thread, as Linux compares pids) may claim kernel codes.
            bool self = t.Tid == g!.Tgid && flags != PIDFD_SIGNAL_PROCESS_GROUP;
            if (!self && (info.si_code >= 0 || info.si_code == SigInfo.SI_TKILL))
            {
                return -Errno.EPERM.Value;
            }
        }
        else
        {
            info = new SigInfo
            {
                si_signo = sig,
                si_code = flags == PIDFD_SIGNAL_THREAD ? SigInfo.SI_TKILL : SigInfo.SI_USER,
                si_pid = t.Group.Pid.In(g!.PidNs),
                si_uid = (int)t.Credentials.RealUid,
            };
        }

        return flags == PIDFD_SIGNAL_PROCESS_GROUP ? SignalGroupOf(t, g!, sig, info) : SignalProcess(t, g!, sig, info, flags == PIDFD_SIGNAL_THREAD);
    }

    /// <summary>
    /// Implements pidfd_getfd(2): a duplicate of the process's fd, close-on-exec, if the caller may ptrace it
    /// (EPERM otherwise); EBADF for a bad fd, ESRCH once the process has exited (its files are closed).
    /// </summary>
    public static long PidfdGetfd(Task t, in SyscallArgs a)
    {
        if (a.UInt(2) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = Resolve(t, a.Int(0), out ThreadGroup? g, out _);
        if (r < 0)
        {
            return r;
        }

        Task? owner;
        lock (t.Kernel.TreeMu)
        {
            if (t.Kernel.FindGroupLocked(g!.Tgid) != g)
            {
                return -Errno.ESRCH.Value;
            }

            owner = SignalPermission.CredentialTaskLocked(g);
        }

        if (owner == null)
        {
            return -Errno.ESRCH.Value; // a zombie: its files are closed
        }

        if (!PtraceAccess.MayRead(t, owner))
        {
            return -Errno.EPERM.Value;
        }

        FileDescription? f = owner.Fds.Get(a.Int(1));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        int fd = t.Fds.Add(f, cloexec: true, 0, (int)System.Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue));
        f.DecRef();
        return fd;
    }

    // kill_pid_info_type: ESRCH once reaped, then the signal number, then permission; a zombie takes it silently.
    private static long SignalProcess(Task t, ThreadGroup g, int sig, in SigInfo info, bool thread)
    {
        Task? target;
        Task? owner;
        lock (t.Kernel.TreeMu)
        {
            if (t.Kernel.FindGroupLocked(g.Tgid) != g)
            {
                return -Errno.ESRCH.Value;
            }

            owner = SignalPermission.CredentialTaskLocked(g);
            if (thread)
            {
                target = owner != null && owner.Tid == g.Tgid && owner.Exit == null ? owner : null;
                if (target == null && !g.Zombie)
                {
                    return -Errno.ESRCH.Value; // the leader thread is gone
                }
            }
            else
            {
                target = g.Zombie ? null : g.SignalTarget(sig is > 0 and <= Signal.SIGRTMAX ? sig : 1);
            }
        }

        if (sig < 0 || sig > Signal.SIGRTMAX)
        {
            return -Errno.EINVAL.Value;
        }

        if (!SignalPermission.MayKillProcess(t, g, sig))
        {
            return -Errno.EPERM.Value;
        }

        if (target != null && sig != 0 && !InitSignals.DropsFromInside(t, g, sig))
        {
            target.SendSignal(sig, info);
        }

        return 0;
    }

    // kill_pgrp_info for the process group whose id is the process's pid.
    private static long SignalGroupOf(Task t, ThreadGroup g, int sig, in SigInfo info)
    {
        bool success = false;
        long last = -Errno.ESRCH.Value;
        foreach (ThreadGroup m in t.Kernel.LiveGroups())
        {
            if (m.ProcessGroup != g.Tgid)
            {
                continue;
            }

            last = SignalProcess(t, m, sig, info, thread: false);
            success |= last == 0;
        }

        return success ? 0 : last;
    }
}
