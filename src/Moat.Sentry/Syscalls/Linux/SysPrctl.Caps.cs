using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>prctl(2)'s capability options: the bounding set and the ambient set (Linux's cap_task_prctl).</summary>
internal static partial class SysPrctl
{
    private const int PR_CAPBSET_READ = 23;
    private const int PR_CAPBSET_DROP = 24;
    private const int PR_CAP_AMBIENT = 47;
    private const ulong PR_CAP_AMBIENT_IS_SET = 1;
    private const ulong PR_CAP_AMBIENT_RAISE = 2;
    private const ulong PR_CAP_AMBIENT_LOWER = 3;
    private const ulong PR_CAP_AMBIENT_CLEAR_ALL = 4;

    private static bool CapValid(ulong cap) => cap <= Credentials.LastCapability;

    // PR_CAPBSET_READ: 1 when the capability is in the bounding set.
    private static long CapbsetRead(Task t, ulong cap) =>
        !CapValid(cap) ? -Errno.EINVAL.Value : (long)((t.Credentials.CapBounding >> (int)cap) & 1);

    // PR_CAPBSET_DROP: needs CAP_SETPCAP; a dropped capability can never come back to this task's children.
    private static long CapbsetDrop(Task t, ulong cap)
    {
        if (!CapValid(cap))
        {
            return -Errno.EINVAL.Value;
        }

        Credentials c = t.Credentials;
        if (!c.HasCapability(Credentials.CAP_SETPCAP))
        {
            return -Errno.EPERM.Value;
        }

        t.Credentials = c with { CapBounding = c.CapBounding & ~(1UL << (int)cap) };
        return 0;
    }

    // PR_CAP_AMBIENT: IS_SET, RAISE (only what is both permitted and inheritable), LOWER, CLEAR_ALL; unused
    // arguments must be zero.
    private static long CapAmbient(Task t, in SyscallArgs a)
    {
        Credentials c = t.Credentials;
        if (a[1] == PR_CAP_AMBIENT_CLEAR_ALL)
        {
            if ((a[2] | a[3] | a[4]) != 0)
            {
                return -Errno.EINVAL.Value;
            }

            t.Credentials = c with { CapAmbient = 0 };
            return 0;
        }

        if (!CapValid(a[2]) || (a[3] | a[4]) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        ulong bit = 1UL << (int)a[2];
        switch (a[1])
        {
            case PR_CAP_AMBIENT_IS_SET:
                return (c.CapAmbient & bit) != 0 ? 1 : 0;
            case PR_CAP_AMBIENT_RAISE:
                if ((c.CapPermitted & bit) == 0 || (c.CapInheritable & bit) == 0 || (c.SecureBits & Credentials.SECBIT_NO_CAP_AMBIENT_RAISE) != 0)
                {
                    return -Errno.EPERM.Value;
                }

                t.Credentials = c with { CapAmbient = c.CapAmbient | bit };
                return 0;
            case PR_CAP_AMBIENT_LOWER:
                t.Credentials = c with { CapAmbient = c.CapAmbient & ~bit };
                return 0;
            default:
                return -Errno.EINVAL.Value;
        }
    }
}
