using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>restart_syscall(2).</summary>
internal static class SysRestart
{
    /// <summary>
    /// Implements restart_syscall(2): continues the call a stop or a signal without a handler interrupted with
    /// ERESTART_RESTARTBLOCK (the signal code rewinds to this call); with none to continue, EINTR.
    /// </summary>
    public static long RestartSyscall(Task t, in SyscallArgs a)
    {
        ISyscallRestart? r = t.SyscallRestart;
        t.SyscallRestart = null;
        return r == null ? -Errno.EINTR.Value : r.Restart(t);
    }
}
