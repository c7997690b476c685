using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>SO_RCVTIMEO and SO_SNDTIMEO (either timeval layout), the same for every socket that keeps <see cref="ISocketTimeouts"/>: unix, internet and packet sockets.</summary>
internal static partial class SysSocket
{
    private static bool IsTimeout(int level, int name) =>
        level == SOL_SOCKET && name is SO_RCVTIMEO_OLD or SO_RCVTIMEO_NEW or SO_SNDTIMEO_OLD or SO_SNDTIMEO_NEW;

    // getsockopt: the limit as a struct timeval in v; returns its length.
    private static int WriteTimeout(ISocketTimeouts s, int name, Span<byte> v)
    {
        long us = name is SO_RCVTIMEO_OLD or SO_RCVTIMEO_NEW ? s.ReceiveTimeoutUs : s.SendTimeoutUs;
        MemoryMarshal.Write(v, us / 1_000_000);
        MemoryMarshal.Write(v[8..], us % 1_000_000);
        return 16;
    }

    // A struct timeval for SO_RCVTIMEO / SO_SNDTIMEO: 0 means no limit; a negative time means "don't wait".
    // SO_RCVTIMEO or SO_SNDTIMEO (either layout): the timeval read and set as the deadline it names.
    private static long SetTimeout(Task t, ISocketTimeouts s, int name, ulong valAddr, int len)
    {
        long r = ReadTimeout(t, valAddr, len, out long us);
        if (r < 0)
        {
            return r;
        }

        if (name is SO_RCVTIMEO_OLD or SO_RCVTIMEO_NEW)
        {
            s.ReceiveTimeoutUs = us;
        }
        else
        {
            s.SendTimeoutUs = us;
        }

        return 0;
    }

    private static long ReadTimeout(Task t, ulong addr, int len, out long us)
    {
        us = 0;
        if (len < 16)
        {
            return -Errno.EINVAL.Value;
        }

        Span<long> tv = stackalloc long[2];
        if (t.MM.CopyIn(addr, MemoryMarshal.AsBytes(tv)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (tv[1] < 0 || tv[1] >= 1_000_000)
        {
            return -Errno.EDOM.Value;
        }

        if (tv[0] < 0)
        {
            us = 1;
            return 0;
        }

        us = (long)Math.Min((ulong)tv[0] * 1_000_000UL + (ulong)tv[1], long.MaxValue / 2);
        return 0;
    }
}
