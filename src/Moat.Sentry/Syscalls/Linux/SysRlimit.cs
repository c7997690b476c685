using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>Resource limits.</summary>
internal static class SysRlimit
{
    /// <summary>Implements prlimit64(2) for the calling process (pid 0 or its own pid).</summary>
    public static long Prlimit64(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        if (pid != 0 && pid != t.Group.Pid.In(t.PidNs))
        {
            return -Errno.ESRCH.Value;
        }

        return Apply(t, a.Int(1), a.Pointer(2), a.Pointer(3), oldRequired: false);
    }

    /// <summary>Implements getrlimit(2).</summary>
    public static long Getrlimit(Task t, in SyscallArgs a) => Apply(t, a.Int(0), 0, a.Pointer(1), oldRequired: true);

    /// <summary>Implements setrlimit(2).</summary>
    public static long Setrlimit(Task t, in SyscallArgs a) =>
        a.Pointer(1) == 0 ? -Errno.EFAULT.Value : Apply(t, a.Int(0), a.Pointer(1), 0, oldRequired: false);

    private static long Apply(Task t, int resource, ulong newAddr, ulong oldAddr, bool oldRequired)
    {
        if ((uint)resource >= RlimitResource.RLIM_NLIMITS)
        {
            return -Errno.EINVAL.Value;
        }

        Rlimit next = default;
        if (newAddr != 0)
        {
            if (t.MM.CopyIn(newAddr, out next) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (next.rlim_cur > next.rlim_max)
            {
                return -Errno.EINVAL.Value;
            }

            ref Rlimit cur = ref t.Group.Limit(resource);
            if (next.rlim_max > cur.rlim_max && !t.Credentials.HasCapability(Credentials.CAP_SYS_RESOURCE))
            {
                return -Errno.EPERM.Value;
            }

            if (resource == RlimitResource.RLIMIT_NOFILE && next.rlim_max > 1048576)
            {
                return -Errno.EPERM.Value; // above fs.nr_open
            }
        }

        Rlimit old = t.Group.Limit(resource);
        if ((oldAddr != 0 || oldRequired) && t.MM.CopyOut(oldAddr, old) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (newAddr != 0)
        {
            t.Group.Limit(resource) = next;
            if (resource == RlimitResource.RLIMIT_AS)
            {
                t.MM.AddressSpaceLimit = next.rlim_cur;
            }
        }

        return 0;
    }
}
