using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// userfaultfd(2) as far as the sandbox serves it: Linux's permission and flag checks, with
/// vm.unprivileged_userfaultfd = 0 (its default, and /proc/sys/vm/unprivileged_userfaultfd here). A caller that
/// passes them gets ENOSYS, deliberately: the Sentry cannot yet hold a fault for a user-space handler
/// (UFFDIO_REGISTER, COPY, ZEROPAGE, WAKE), so it offers no descriptor that would pretend to.
/// </summary>
internal static class SysUserfaultfd
{
    private const int UFFD_USER_MODE_ONLY = 1;

    /// <summary>Implements userfaultfd(2)'s checks: EPERM without CAP_SYS_PTRACE unless UFFD_USER_MODE_ONLY, then EINVAL for unknown flags; otherwise ENOSYS.</summary>
    public static long Userfaultfd(Task t, in SyscallArgs a)
    {
        int flags = a.Int(0);
        if ((flags & UFFD_USER_MODE_ONLY) == 0 && !t.Credentials.HasCapability(Credentials.CAP_SYS_PTRACE))
        {
            return -Errno.EPERM.Value;
        }

        if ((flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK | UFFD_USER_MODE_ONLY)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        return -Errno.ENOSYS.Value;
    }
}
