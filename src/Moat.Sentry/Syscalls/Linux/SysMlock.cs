using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// mlock(2), munlock(2), mlock2(2), mlockall(2), munlockall(2): locked ranges are recorded and counted against
/// RLIMIT_MEMLOCK as Linux counts them; nothing is pinned on the host (the Sentry never pages app memory out).
/// </summary>
internal static class SysMlock
{
    private const uint MLOCK_ONFAULT = 1;
    private const int MCL_CURRENT = 1;
    private const int MCL_FUTURE = 2;
    private const int MCL_ONFAULT = 4;

    /// <summary>Implements mlock(2).</summary>
    public static long Mlock(Task t, in SyscallArgs a) => Lock(t, a.Pointer(0), a.SizeT(1), populate: true);

    /// <summary>Implements mlock2(2): MLOCK_ONFAULT is the only flag (it leaves the pages to be faulted in when touched).</summary>
    public static long Mlock2(Task t, in SyscallArgs a)
    {
        if ((a.UInt(2) & ~MLOCK_ONFAULT) != 0 || a[2] > uint.MaxValue)
        {
            return -Errno.EINVAL.Value;
        }

        return Lock(t, a.Pointer(0), a.SizeT(1), populate: (a.UInt(2) & MLOCK_ONFAULT) == 0);
    }

    /// <summary>Implements munlock(2).</summary>
    public static long Munlock(Task t, in SyscallArgs a)
    {
        Align(a.Pointer(0), a.SizeT(1), out ulong start, out ulong len);
        return t.MM.SetLocked(start, len, locked: false, populate: false, 0, unlimited: true);
    }

    /// <summary>Implements mlockall(2).</summary>
    public static long Mlockall(Task t, in SyscallArgs a)
    {
        ulong flags = a[0];
        if (flags == 0 || (flags & ~(ulong)(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) != 0 || flags == MCL_ONFAULT)
        {
            return -Errno.EINVAL.Value;
        }

        if (!CanLock(t, out ulong limit, out bool unlimited))
        {
            return -Errno.EPERM.Value;
        }

        long r = t.MM.LockAll((flags & MCL_CURRENT) != 0, (flags & MCL_FUTURE) != 0, limit, unlimited);
        if (r == 0 && (flags & (MCL_CURRENT | MCL_ONFAULT)) == MCL_CURRENT)
        {
            t.MM.Prefault(0, ulong.MaxValue); // the locked memory is faulted in, as mm_populate does
        }

        return r;
    }

    /// <summary>Implements munlockall(2).</summary>
    public static long Munlockall(Task t, in SyscallArgs a) => t.MM.LockAll(current: false, future: false, 0, unlimited: true);

    private static long Lock(Task t, ulong addr, ulong length, bool populate)
    {
        if (!CanLock(t, out ulong limit, out bool unlimited))
        {
            return -Errno.EPERM.Value;
        }

        Align(addr, length, out ulong start, out ulong len);
        long r = t.MM.SetLocked(start, len, locked: true, populate, limit, unlimited);
        if (populate && r == 0)
        {
            t.MM.Prefault(start, start + len); // mlock without MLOCK_ONFAULT faults the range in (__mm_populate)
        }

        return r;
    }

    // Linux's can_do_mlock: a non-zero RLIMIT_MEMLOCK or CAP_IPC_LOCK.
    private static bool CanLock(Task t, out ulong limit, out bool unlimited)
    {
        limit = t.Group.Limit(RlimitResource.RLIMIT_MEMLOCK).rlim_cur;
        unlimited = t.Credentials.HasCapability(Credentials.CAP_IPC_LOCK);
        return limit != 0 || unlimited;
    }

    // The range widened to whole pages as do_mlock does: the length wraps as Linux's PAGE_ALIGN would.
    private static void Align(ulong addr, ulong length, out ulong start, out ulong len)
    {
        ulong offset = addr & (Mman.PageSize - 1);
        len = MemoryManager.PageUp(length + offset);
        start = addr - offset;
    }
}
