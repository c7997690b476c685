using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;
using Moat.Sentry.Vfs.Proc;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>setns(2) for pid namespaces: the caller's next children are made in the one named.</summary>
internal static class SysSetns
{
    /// <summary>
    /// Implements setns(2) on a /proc/PID/ns/pid or pid_for_children file (nstype 0 or CLONE_NEWPID), as Linux's
    /// pidns_install: CAP_SYS_ADMIN, and the namespace must be the caller's own or one below it (else EINVAL);
    /// the caller stays where it is and its children are born there (pid_for_children). A file of another
    /// namespace kind, or a pidfd, is EINVAL: the sandbox does not join those (docs/sentry-notes.md).
    /// </summary>
    public static long Setns(Task t, in SyscallArgs a)
    {
        const int CLONE_NEWPID = 0x20000000;
        int nstype = a.Int(1);
        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if (f is not NamespaceFile { PidNamespace: PidNamespace target } || (nstype != 0 && nstype != CLONE_NEWPID))
            {
                return -Errno.EINVAL.Value;
            }

            if (!t.Credentials.HasCapability(Credentials.CAP_SYS_ADMIN))
            {
                return -Errno.EPERM.Value;
            }

            PidNamespace active = t.PidNs;
            if (target.Level < active.Level || target.AncestorAt(active.Level) != active)
            {
                return -Errno.EINVAL.Value;
            }

            t.ChildPidNs = target;
            return 0;
        }
        finally
        {
            f.DecRef();
        }
    }
}
