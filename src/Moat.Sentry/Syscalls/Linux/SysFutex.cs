using System;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>futex(2).</summary>
internal static class SysFutex
{
    private const int FUTEX_WAIT = 0;
    private const int FUTEX_WAKE = 1;
    private const int FUTEX_WAIT_BITSET = 9;
    private const int FUTEX_WAKE_BITSET = 10;
    private const int FUTEX_PRIVATE_FLAG = 128;
    private const int FUTEX_CLOCK_REALTIME = 256;
    private const uint FUTEX_BITSET_MATCH_ANY = 0xffffffff;

    /// <summary>
    /// Implements futex(2) WAIT, WAKE, WAIT_BITSET and WAKE_BITSET. Shared (non-private) futexes are keyed
    /// like private ones until processes can share memory; the other operations answer ENOSYS.
    /// </summary>
    public static long Futex(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(0);
        int op = a.Int(1);
        int cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
        switch (cmd)
        {
            case FUTEX_WAIT:
            case FUTEX_WAIT_BITSET:
            {
                uint bitset = cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : a.UInt(5);
                if (bitset == 0)
                {
                    return -Errno.EINVAL.Value;
                }

                int timeoutMs = -1;
                if (a.Pointer(3) != 0)
                {
                    if (t.MM.CopyIn(a.Pointer(3), out Timespec ts) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1_000_000_000)
                    {
                        return -Errno.EINVAL.Value;
                    }

                    long nanos;
                    if (cmd == FUTEX_WAIT)
                    {
                        nanos = (ts.tv_sec * 1_000_000_000) + ts.tv_nsec; // relative
                    }
                    else
                    {
                        // WAIT_BITSET takes an absolute time on CLOCK_MONOTONIC or CLOCK_REALTIME.
                        HostProcess.ClockGettime((op & FUTEX_CLOCK_REALTIME) != 0 ? 0 : 1, out Timespec now);
                        nanos = ((ts.tv_sec - now.tv_sec) * 1_000_000_000) + (ts.tv_nsec - now.tv_nsec);
                    }

                    timeoutMs = (int)Math.Clamp((nanos + 999_999) / 1_000_000, 0, int.MaxValue);
                    if (nanos <= 0)
                    {
                        timeoutMs = 0;
                    }
                }

                return t.Kernel.Futexes.Wait(t, addr, a.UInt(2), bitset, timeoutMs);
            }

            case FUTEX_WAKE:
            case FUTEX_WAKE_BITSET:
            {
                uint bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : a.UInt(5);
                if (bitset == 0)
                {
                    return -Errno.EINVAL.Value;
                }

                int count = a.Int(2);
                return t.Kernel.Futexes.Wake(t.MM, addr, count <= 0 ? 0 : count, bitset);
            }

            default:
                return -Errno.ENOSYS.Value;
        }
    }
}
