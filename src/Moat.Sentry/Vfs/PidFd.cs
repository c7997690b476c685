using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// A pidfd (pidfd_open(2)): a file description that names a process. It reads nothing; poll reports POLLIN once
/// the process has exited and POLLIN|POLLHUP once it is reaped, as Linux's pidfd_poll. Signals and waitid(P_PIDFD)
/// reach the process through it even after its pid is reused.
/// </summary>
internal sealed class PidFd : FileDescription
{
    private readonly Kernel.Kernel _kernel;

    public PidFd(Kernel.Kernel kernel, ThreadGroup group, int flags)
    {
        _kernel = kernel;
        Group = group;
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
    }

    /// <summary>The process this pidfd names.</summary>
    public ThreadGroup Group { get; }

    /// <summary>The process's pid, or -1 once it is reaped (fdinfo's Pid).</summary>
    public int Pid
    {
        get
        {
            lock (_kernel.TreeMu)
            {
                return _kernel.FindGroupLocked(Group.Tgid) == Group ? Group.Tgid : -1;
            }
        }
    }

    public override WaitQueue? ReadinessQueue => Group.ExitEvents;

    public override int Readiness(int events)
    {
        Kernel.Kernel k = _kernel;
        int r;
        lock (k.TreeMu)
        {
            bool exited = Group.Tasks.Count == 0;
            bool reaped = exited && k.FindGroupLocked(Group.Tgid) != Group;
            r = exited ? PollEvents.POLLIN | PollEvents.POLLRDNORM | (reaped ? PollEvents.POLLHUP : 0) : 0;
        }

        // POLLHUP is reported whether asked for or not.
        return r & (events | PollEvents.POLLHUP);
    }

    public override long Stat(out Stat st)
    {
        st = default;
        st.st_mode = 0x180; // anon inode: no file type bits, 0600
        st.st_nlink = 1;
        st.st_blksize = 4096;
        return 0;
    }
}
