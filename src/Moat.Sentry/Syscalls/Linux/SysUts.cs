using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>sethostname(2) and setdomainname(2): the sandbox's UTS names, never the host's.</summary>
internal static class SysUts
{
    private const int NewUtsLen = 64;
    private const int CAP_SYS_ADMIN = 21;

    /// <summary>Implements sethostname(2).</summary>
    public static long Sethostname(Task t, in SyscallArgs a)
    {
        long r = ReadName(t, a.Pointer(0), a.Int(1), out string name);
        if (r == 0)
        {
            t.Kernel.Hostname = name;
        }

        return r;
    }

    /// <summary>Implements setdomainname(2).</summary>
    public static long Setdomainname(Task t, in SyscallArgs a)
    {
        long r = ReadName(t, a.Pointer(0), a.Int(1), out string name);
        if (r == 0)
        {
            t.Kernel.Domainname = name;
        }

        return r;
    }

    // Linux's order: the capability, then the length (at most 64 bytes, not NUL-terminated), then the copy.
    private static long ReadName(Task t, ulong addr, int len, out string name)
    {
        name = string.Empty;
        if (!t.Credentials.HasCapability(CAP_SYS_ADMIN))
        {
            return -Errno.EPERM.Value;
        }

        if (len < 0 || len > NewUtsLen)
        {
            return -Errno.EINVAL.Value;
        }

        Span<byte> b = stackalloc byte[NewUtsLen];
        if (len > 0 && t.MM.CopyIn(addr, b[..len]) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        // uname reports the name up to its first NUL.
        int end = b[..len].IndexOf((byte)0);
        name = LinuxString.Encoding.GetString(b[..(end < 0 ? len : end)]);
        return 0;
    }
}
