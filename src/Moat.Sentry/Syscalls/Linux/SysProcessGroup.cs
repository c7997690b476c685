using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>Process groups and sessions: setpgid, getpgid, getpgrp, setsid, getsid, with Linux's rules.</summary>
internal static class SysProcessGroup
{
    /// <summary>Implements getpgid(2).</summary>
    public static long Getpgid(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        lock (t.Kernel.TreeMu)
        {
            ThreadGroup? g = pid == 0 ? t.Group : Find(t, pid);
            return g == null ? -Errno.ESRCH.Value : t.Kernel.IdInLocked(t.PidNs, g.ProcessGroup);
        }
    }

    /// <summary>Implements getpgrp(2).</summary>
    public static long Getpgrp(Task t, in SyscallArgs a)
    {
        lock (t.Kernel.TreeMu)
        {
            return t.Kernel.IdInLocked(t.PidNs, t.Group.ProcessGroup);
        }
    }

    /// <summary>Implements getsid(2).</summary>
    public static long Getsid(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        lock (t.Kernel.TreeMu)
        {
            ThreadGroup? g = pid == 0 ? t.Group : Find(t, pid);
            return g == null ? -Errno.ESRCH.Value : t.Kernel.IdInLocked(t.PidNs, g.Session);
        }
    }

    /// <summary>Implements setpgid(2): the caller or one of its children joins or starts a process group of the caller's session.</summary>
    public static long Setpgid(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0), pgid = a.Int(1);
        if (pgid < 0)
        {
            return -Errno.EINVAL.Value;
        }

        lock (t.Kernel.TreeMu)
        {
            ThreadGroup self = t.Group;
            ThreadGroup? target = pid == 0 ? self : Find(t, pid);
            if (target == null || (target != self && target.Parent != self))
            {
                return -Errno.ESRCH.Value;
            }

            if (target != self)
            {
                if (target.Session != self.Session)
                {
                    return -Errno.EPERM.Value;
                }

                if (target.HasExeced)
                {
                    return -Errno.EACCES.Value;
                }
            }

            if (target.Session == target.Tgid)
            {
                return -Errno.EPERM.Value; // a session leader stays in its own group
            }

            // The group is named in the caller's pid namespace; the tree keeps global ids.
            pgid = pgid == 0 ? target.Tgid : t.PidNs.GlobalOfLocked(pgid);
            if (pgid != target.Tgid && (pgid == 0 || !GroupExistsInSession(t, pgid, self.Session)))
            {
                return -Errno.EPERM.Value;
            }

            int old = target.ProcessGroup;
            target.ProcessGroup = pgid;
            t.Kernel.GroupIdDroppedLocked(old);
            return 0;
        }
    }

    /// <summary>Implements setsid(2): a process that leads no group starts a new session and group of its own.</summary>
    public static long Setsid(Task t, in SyscallArgs a)
    {
        lock (t.Kernel.TreeMu)
        {
            ThreadGroup self = t.Group;
            foreach (ThreadGroup g in t.Kernel.AllGroupsLocked())
            {
                if (g.ProcessGroup == self.Tgid)
                {
                    return -Errno.EPERM.Value;
                }
            }

            int oldSession = self.Session, oldGroup = self.ProcessGroup;
            self.Session = self.Tgid;
            self.ProcessGroup = self.Tgid;
            self.ControllingTerminal = null; // a new session starts with no terminal
            t.Kernel.GroupIdDroppedLocked(oldSession);
            t.Kernel.GroupIdDroppedLocked(oldGroup);
            return self.Pid.In(t.PidNs);
        }
    }

    // A live (not reaped) process of the sandbox; zombies still hold their group, as in Linux.
    private static ThreadGroup? Find(Task t, int pid) => pid > 0 ? t.Kernel.FindGroupLocked(t.PidNs, pid) : null;

    private static bool GroupExistsInSession(Task t, int pgid, int session)
    {
        foreach (ThreadGroup g in t.Kernel.AllGroupsLocked())
        {
            if (g.ProcessGroup == pgid && g.Session == session)
            {
                return true;
            }
        }

        return false;
    }
}
