using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>A struct timespec argument of a wait (a timeout or a deadline): copied in and checked as Linux does.</summary>
internal static class TimespecArg
{
    /// <summary>Copies the timespec at <paramref name="addr"/> in. Returns 0, -EFAULT, or -EINVAL for a negative or unnormalised one.</summary>
    public static long CopyIn(Task t, ulong addr, out Timespec ts)
    {
        if (t.MM.CopyIn(addr, out ts) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1_000_000_000 ? -Errno.EINVAL.Value : 0;
    }
}
