using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// userfaultfd(2), with Linux's permission and flag checks under vm.unprivileged_userfaultfd = 0 (its default,
/// and /proc/sys/vm/unprivileged_userfaultfd here). The file it makes is <see cref="Userfaultfd"/>.
/// </summary>
internal static class SysUserfaultfd
{
    /// <summary>
    /// Implements userfaultfd(2): EPERM without CAP_SYS_PTRACE unless UFFD_USER_MODE_ONLY, EINVAL for unknown
    /// flags; otherwise a userfaultfd for the caller's address space.
    /// </summary>
    public static long Userfaultfd(Task t, in SyscallArgs a) => New(t, a.Int(0));

    /// <summary>A new userfaultfd with <paramref name="flags"/> (userfaultfd(2), /dev/userfaultfd's USERFAULTFD_IOC_NEW).</summary>
    public static long New(Task t, int flags)
    {
        if ((flags & Uffd.UFFD_USER_MODE_ONLY) == 0 && !t.Credentials.HasCapability(Credentials.CAP_SYS_PTRACE))
        {
            return -Errno.EPERM.Value;
        }

        if ((flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK | Uffd.UFFD_USER_MODE_ONLY)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        var f = new Vfs.Userfaultfd(t.MM, flags);
        int fd = t.Fds.Add(f, (flags & OpenFlags.O_CLOEXEC) != 0, 0, (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue));
        f.DecRef();
        return fd;
    }
}
