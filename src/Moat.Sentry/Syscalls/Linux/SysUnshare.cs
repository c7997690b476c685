using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// unshare(2): a mount namespace of the process's own (a copy of the table), a pid namespace for the caller's
/// next children, a file-descriptor table of the task's own; the other namespaces are not supported inside the
/// sandbox and answer EINVAL.
/// </summary>
internal static class SysUnshare
{
    private const ulong CLONE_NEWTIME = 0x80;
    private const ulong CLONE_NEWCGROUP = 0x02000000;
    private const ulong CLONE_NEWUTS = 0x04000000;
    private const ulong CLONE_NEWIPC = 0x08000000;
    private const ulong CLONE_NEWPID = 0x20000000;
    private const ulong CLONE_NEWNET = 0x40000000;

    private const ulong Known = SysProcess.CLONE_THREAD | SysProcess.CLONE_FS | SysProcess.CLONE_NEWNS | SysProcess.CLONE_SIGHAND | SysProcess.CLONE_VM |
        SysProcess.CLONE_FILES | SysProcess.CLONE_SYSVSEM | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SysProcess.CLONE_NEWUSER | CLONE_NEWPID |
        CLONE_NEWCGROUP | CLONE_NEWTIME;

    /// <summary>Implements unshare(2).</summary>
    public static long Unshare(Task t, in SyscallArgs a)
    {
        ulong flags = a[0];
        if ((flags & ~Known) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        // The implied flags, as Linux's ksys_unshare adds them.
        if ((flags & SysProcess.CLONE_NEWUSER) != 0)
        {
            flags |= SysProcess.CLONE_THREAD | SysProcess.CLONE_FS;
        }

        if ((flags & SysProcess.CLONE_VM) != 0)
        {
            flags |= SysProcess.CLONE_SIGHAND;
        }

        if ((flags & SysProcess.CLONE_SIGHAND) != 0)
        {
            flags |= SysProcess.CLONE_THREAD;
        }

        if ((flags & SysProcess.CLONE_NEWNS) != 0)
        {
            flags |= SysProcess.CLONE_FS;
        }

        if ((flags & (SysProcess.CLONE_THREAD | SysProcess.CLONE_SIGHAND | SysProcess.CLONE_VM)) != 0)
        {
            // A thread cannot leave its own process: only a single-threaded one may ask.
            lock (t.Kernel.TreeMu)
            {
                if (t.Group.Tasks.Count > 1)
                {
                    return -Errno.EINVAL.Value;
                }

                // Nor may a process whose signal actions another process shares (clone with CLONE_SIGHAND).
                if ((flags & (SysProcess.CLONE_SIGHAND | SysProcess.CLONE_VM)) != 0 && SharesSignalActionsLocked(t))
                {
                    return -Errno.EINVAL.Value;
                }
            }
        }

        if ((flags & (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SysProcess.CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME)) != 0)
        {
            return -Errno.EINVAL.Value; // namespaces other than mount and pid namespaces are not supported inside the sandbox
        }

        if ((flags & (SysProcess.CLONE_NEWNS | CLONE_NEWPID)) != 0 && !t.Credentials.HasCapability(Credentials.CAP_SYS_ADMIN))
        {
            return -Errno.EPERM.Value;
        }

        if ((flags & CLONE_NEWPID) != 0)
        {
            // Only from the caller's own namespace: a second unshare before a child entered the first is EINVAL.
            if (t.ChildPidNs != t.PidNs)
            {
                return -Errno.EINVAL.Value;
            }

            if (t.PidNs.Level >= PidNamespace.MaxLevel)
            {
                return -Errno.ENOSPC.Value;
            }
        }

        if ((flags & SysProcess.CLONE_FILES) != 0)
        {
            t.UnshareFds();
        }

        if ((flags & CLONE_NEWPID) != 0)
        {
            // The caller stays where it is: its next child is the new namespace's init.
            t.ChildPidNs = new PidNamespace(t.PidNs);
        }

        if ((flags & SysProcess.CLONE_NEWNS) != 0)
        {
            // The working directory and umask belong to the process here, so the whole process moves over.
            t.Group.Mounts = t.Group.Mounts.Clone();
        }

        return 0;
    }

    // Whether another process, a zombie too until it is reaped (it holds the sighand until release_task), uses t's
    // table of signal actions. Preconditions: Kernel.TreeMu is held.
    private static bool SharesSignalActionsLocked(Task t)
    {
        foreach (ThreadGroup g in t.Kernel.AllGroupsLocked())
        {
            if (g != t.Group && ReferenceEquals(g.SignalActions, t.Group.SignalActions))
            {
                return true;
            }
        }

        return false;
    }
}
