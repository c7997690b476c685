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
    private const int FUTEX_REQUEUE = 3;
    private const int FUTEX_CMP_REQUEUE = 4;
    private const int FUTEX_WAKE_OP = 5;
    private const int FUTEX_LOCK_PI = 6;
    private const int FUTEX_UNLOCK_PI = 7;
    private const int FUTEX_TRYLOCK_PI = 8;
    private const int FUTEX_WAIT_BITSET = 9;
    private const int FUTEX_WAKE_BITSET = 10;
    private const int FUTEX_WAIT_REQUEUE_PI = 11;
    private const int FUTEX_CMP_REQUEUE_PI = 12;
    private const int FUTEX_LOCK_PI2 = 13;
    private const int FUTEX_PRIVATE_FLAG = 128;
    private const int FUTEX_CLOCK_REALTIME = 256;

    /// <summary>
    /// Implements futex(2) WAIT, WAKE, WAIT_BITSET, WAKE_BITSET, REQUEUE, CMP_REQUEUE, WAKE_OP and the PI
    /// operations (LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI, WAIT_REQUEUE_PI, CMP_REQUEUE_PI), private and
    /// shared. Checks come in Linux's order: the timeout, then the clock flag, then the operation's own.
    /// </summary>
    public static long Futex(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(0);
        int op = a.Int(1);
        int cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
        bool isPrivate = (op & FUTEX_PRIVATE_FLAG) != 0;
        bool realtime = (op & FUTEX_CLOCK_REALTIME) != 0;

        int timeoutMs = -1;
        bool hasTimeout = cmd is FUTEX_WAIT or FUTEX_WAIT_BITSET or FUTEX_LOCK_PI or FUTEX_LOCK_PI2 or FUTEX_WAIT_REQUEUE_PI;
        if (hasTimeout && a.Pointer(3) != 0)
        {
            // FUTEX_LOCK_PI's deadline is on CLOCK_REALTIME, whatever the flags say.
            long r = ReadTimeout(t, a.Pointer(3), cmd == FUTEX_WAIT, realtime || cmd == FUTEX_LOCK_PI, out timeoutMs);
            if (r < 0)
            {
                return r;
            }
        }

        if (realtime && cmd is not (FUTEX_WAIT_BITSET or FUTEX_WAIT_REQUEUE_PI or FUTEX_LOCK_PI2))
        {
            return -Errno.ENOSYS.Value;
        }

        switch (cmd)
        {
            case FUTEX_WAIT:
            case FUTEX_WAIT_BITSET:
            {
                uint bitset = cmd == FUTEX_WAIT ? Kernel.Futex.MatchAny : a.UInt(5);
                if (bitset == 0)
                {
                    return -Errno.EINVAL.Value;
                }

                long r = FutexKey.Get(t.MM, addr, isPrivate, write: false, out FutexKey key);
                return r < 0 ? r : t.Kernel.Futexes.Wait(t, key, addr, a.UInt(2), bitset, timeoutMs);
            }

            case FUTEX_WAKE:
            case FUTEX_WAKE_BITSET:
            {
                uint bitset = cmd == FUTEX_WAKE ? Kernel.Futex.MatchAny : a.UInt(5);
                if (bitset == 0)
                {
                    return -Errno.EINVAL.Value;
                }

                long r = FutexKey.Get(t.MM, addr, isPrivate, write: false, out FutexKey key);
                return r < 0 ? r : t.Kernel.Futexes.Wake(key, a.Int(2), bitset);
            }

            case FUTEX_REQUEUE:
            case FUTEX_CMP_REQUEUE:
                return Requeue(t, a, isPrivate, compare: cmd == FUTEX_CMP_REQUEUE);

            case FUTEX_WAKE_OP:
            {
                long r = FutexKey.Get(t.MM, addr, isPrivate, write: false, out FutexKey key1);
                if (r < 0)
                {
                    return r;
                }

                r = FutexKey.Get(t.MM, a.Pointer(4), isPrivate, write: true, out FutexKey key2);
                if (r < 0)
                {
                    return r;
                }

                // The second count travels in the timeout register, as a 32-bit value.
                return t.Kernel.Futexes.WakeOp(t.MM, key1, key2, a.Pointer(4), a.Int(2), (int)a.UInt(3), new FutexWakeOp(a.UInt(5)));
            }

            case FUTEX_LOCK_PI:
            case FUTEX_LOCK_PI2:
            case FUTEX_TRYLOCK_PI:
            {
                long r = FutexKey.Get(t.MM, addr, isPrivate, write: true, out FutexKey key);
                return r < 0 ? r : t.Kernel.Futexes.LockPi(t, key, addr, timeoutMs, tryLock: cmd == FUTEX_TRYLOCK_PI);
            }

            case FUTEX_UNLOCK_PI:
            {
                long r = FutexKey.Get(t.MM, addr, isPrivate, write: true, out FutexKey key);
                return r < 0 ? r : t.Kernel.Futexes.UnlockPi(t, key, addr);
            }

            case FUTEX_WAIT_REQUEUE_PI:
            {
                ulong piAddr = a.Pointer(4);
                if (addr == piAddr)
                {
                    return -Errno.EINVAL.Value;
                }

                long r = FutexKey.Get(t.MM, addr, isPrivate, write: false, out FutexKey key);
                if (r < 0)
                {
                    return r;
                }

                r = FutexKey.Get(t.MM, piAddr, isPrivate, write: true, out FutexKey piKey);
                return r < 0 ? r : t.Kernel.Futexes.WaitRequeuePi(t, key, addr, a.UInt(2), piKey, piAddr, timeoutMs);
            }

            case FUTEX_CMP_REQUEUE_PI:
                return CmpRequeuePi(t, a, isPrivate);

            default:
                return -Errno.ENOSYS.Value;
        }
    }

    // Linux's order: the counts (nr_wake must be 1), the same address twice, then the keys.
    private static long CmpRequeuePi(Task t, in SyscallArgs a, bool isPrivate)
    {
        int wakeCount = a.Int(2);
        int requeueCount = (int)a.UInt(3); // the timeout register, as a 32-bit value
        ulong addr = a.Pointer(0);
        ulong piAddr = a.Pointer(4);
        if (wakeCount < 0 || requeueCount < 0 || addr == piAddr || wakeCount != 1)
        {
            return -Errno.EINVAL.Value;
        }

        long r = FutexKey.Get(t.MM, addr, isPrivate, write: false, out FutexKey key);
        if (r < 0)
        {
            return r;
        }

        r = FutexKey.Get(t.MM, piAddr, isPrivate, write: true, out FutexKey piKey);
        return r < 0 ? r : t.Kernel.Futexes.CmpRequeuePi(t, key, addr, a.UInt(5), piKey, piAddr, requeueCount);
    }

    private static long Requeue(Task t, in SyscallArgs a, bool isPrivate, bool compare)
    {
        int wakeCount = a.Int(2);
        int requeueCount = (int)a.UInt(3); // the timeout register, as a 32-bit value
        if (wakeCount < 0 || requeueCount < 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = FutexKey.Get(t.MM, a.Pointer(0), isPrivate, write: false, out FutexKey from);
        if (r < 0)
        {
            return r;
        }

        r = FutexKey.Get(t.MM, a.Pointer(4), isPrivate, write: false, out FutexKey to);
        if (r < 0)
        {
            return r;
        }

        return t.Kernel.Futexes.Requeue(t.MM, from, a.Pointer(0), to, wakeCount, requeueCount, compare, a.UInt(5));
    }

    // Reads a timeout: relative for FUTEX_WAIT, else absolute on CLOCK_MONOTONIC or CLOCK_REALTIME.
    // Returns 0 with the milliseconds left (rounded up), -EFAULT or -EINVAL.
    private static long ReadTimeout(Task t, ulong addr, bool relative, bool realtime, out int timeoutMs)
    {
        timeoutMs = -1;
        if (t.MM.CopyIn(addr, out Timespec ts) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1_000_000_000)
        {
            return -Errno.EINVAL.Value;
        }

        long sec = ts.tv_sec;
        long nsec = ts.tv_nsec;
        if (!relative)
        {
            HostProcess.ClockGettime(realtime ? 0 : 1, out Timespec now);
            sec -= now.tv_sec;
            nsec -= now.tv_nsec;
        }

        // Saturate: more than int.MaxValue milliseconds (24 days) is as good as forever here.
        const long MaxSeconds = int.MaxValue / 1000;
        if (sec > MaxSeconds)
        {
            timeoutMs = int.MaxValue;
            return 0;
        }

        long nanos = (sec * 1_000_000_000) + nsec;
        timeoutMs = nanos <= 0 ? 0 : (int)Math.Min((nanos + 999_999) / 1_000_000, int.MaxValue);
        return 0;
    }
}
