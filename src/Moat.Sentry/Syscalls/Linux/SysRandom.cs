using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>getrandom(2).</summary>
internal static class SysRandom
{
    private const uint GRND_NONBLOCK = 1;
    private const uint GRND_RANDOM = 2;
    private const uint GRND_INSECURE = 4;

    /// <summary>Implements getrandom(2) from the host's CSPRNG; the pool is always initialised.</summary>
    public static long Getrandom(Task t, in SyscallArgs a)
    {
        uint flags = a.UInt(2);
        if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) != 0 || (flags & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE))
        {
            return -Errno.EINVAL.Value;
        }

        ulong len = Math.Min(a.SizeT(1), SysReadWrite.MaxRwCount);
        Span<byte> buf = stackalloc byte[256];
        ulong done = 0;
        while (done < len)
        {
            int n = (int)Math.Min((ulong)buf.Length, len - done);
            Moat.Host.HostRandom.Fill(buf[..n]);
            if (t.MM.CopyOut(a.Pointer(0) + done, buf[..n]) < 0)
            {
                return done > 0 ? (long)done : -Errno.EFAULT.Value;
            }

            done += (ulong)n;
        }

        return (long)done;
    }
}
