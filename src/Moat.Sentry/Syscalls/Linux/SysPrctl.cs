using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>prctl(2).</summary>
internal static partial class SysPrctl
{
    private const int PR_SET_PDEATHSIG = 1;
    private const int PR_GET_PDEATHSIG = 2;
    private const int PR_GET_DUMPABLE = 3;
    private const int PR_SET_DUMPABLE = 4;
    private const int PR_GET_KEEPCAPS = 7;
    private const int PR_SET_KEEPCAPS = 8;
    private const int PR_SET_NAME = 15;
    private const int PR_GET_SECCOMP = 21;
    private const int PR_SET_SECCOMP = 22;
    private const int PR_GET_NAME = 16;
    private const int PR_SET_NO_NEW_PRIVS = 38;
    private const int PR_GET_NO_NEW_PRIVS = 39;
    private const int CommLength = 16;

    /// <summary>Implements prctl(2) for the options Moat keeps state for; others answer EINVAL as unknown.</summary>
    public static long Prctl(Task t, in SyscallArgs a)
    {
        switch (a.Int(0))
        {
            case PR_SET_PDEATHSIG:
            {
                int sig = a.Int(1);
                if (sig < 0 || sig > Signal.SIGRTMAX)
                {
                    return -Errno.EINVAL.Value;
                }

                t.ParentDeathSignal = sig;
                return 0;
            }

            case PR_GET_PDEATHSIG:
                return t.MM.CopyOut(a.Pointer(1), t.ParentDeathSignal);
            case PR_GET_DUMPABLE:
                return t.Group.Dumpable ? 1 : 0;
            case PR_SET_DUMPABLE:
                if (a[1] > 1)
                {
                    return -Errno.EINVAL.Value;
                }

                t.Group.Dumpable = a[1] == 1;
                return 0;
            case PR_GET_KEEPCAPS:
                return t.Credentials.KeepCaps ? 1 : 0;
            case PR_SET_KEEPCAPS:
            {
                if (a[1] > 1)
                {
                    return -Errno.EINVAL.Value;
                }

                Credentials c = t.Credentials;
                if ((c.SecureBits & Credentials.SECBIT_KEEP_CAPS_LOCKED) != 0)
                {
                    return -Errno.EPERM.Value;
                }

                t.Credentials = c with { SecureBits = a[1] == 1 ? c.SecureBits | Credentials.SECBIT_KEEP_CAPS : c.SecureBits & ~Credentials.SECBIT_KEEP_CAPS };
                return 0;
            }

            case PR_SET_NAME:
            {
                Span<byte> name = stackalloc byte[CommLength];
                name.Clear();
                for (int i = 0; i < CommLength - 1; i++)
                {
                    if (t.MM.CopyIn(a.Pointer(1) + (ulong)i, name.Slice(i, 1)) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    if (name[i] == 0)
                    {
                        break;
                    }
                }

                int len = name.IndexOf((byte)0);
                t.Comm = LinuxString.Encoding.GetString(name[..(len < 0 ? CommLength - 1 : len)]);
                return 0;
            }

            case PR_GET_NAME:
            {
                Span<byte> name = stackalloc byte[CommLength];
                name.Clear();
                LinuxString.Encoding.GetBytes(t.Comm.AsSpan(0, Math.Min(t.Comm.Length, CommLength - 1)), name);
                return t.MM.CopyOut(a.Pointer(1), name);
            }

            case PR_SET_NO_NEW_PRIVS:
                if (a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0)
                {
                    return -Errno.EINVAL.Value;
                }

                t.NoNewPrivs = true;
                return 0;
            case PR_GET_NO_NEW_PRIVS:
                return t.NoNewPrivs ? 1 : 0;
            case PR_GET_SECCOMP:
                return t.SeccompMode;
            case PR_SET_SECCOMP:
                // The older interface to seccomp(2): a mode, and a filter for mode 2; no flags.
                return a.Int(1) switch
                {
                    SeccompAbi.SECCOMP_MODE_STRICT => SysSeccomp.Do(t, SeccompAbi.SECCOMP_SET_MODE_STRICT, 0, 0),
                    SeccompAbi.SECCOMP_MODE_FILTER => SysSeccomp.Do(t, SeccompAbi.SECCOMP_SET_MODE_FILTER, 0, a.Pointer(2)),
                    _ => -Errno.EINVAL.Value,
                };
            case PR_CAPBSET_READ:
                return CapbsetRead(t, a[1]);
            case PR_CAPBSET_DROP:
                return CapbsetDrop(t, a[1]);
            case PR_CAP_AMBIENT:
                return CapAmbient(t, a);
            default:
                return TryProcessOption(t, a, out long result) ? result : -Errno.EINVAL.Value;
        }
    }
}
