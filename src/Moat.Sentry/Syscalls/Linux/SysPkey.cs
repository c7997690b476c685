using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// Memory protection keys, answered as Linux answers on a CPU without them (no OSPKE): no key can be allocated
/// or freed (EINVAL), and pkey_mprotect accepts only key -1, where it is mprotect.
/// </summary>
internal static class SysPkey
{
    /// <summary>
    /// Implements pkey_alloc(2): bad flags or access rights are EINVAL, and so is every good request, as Linux's
    /// arch_set_user_pkey_access fails without OSPKE.
    /// </summary>
    public static long PkeyAlloc(Task t, in SyscallArgs a) => -Errno.EINVAL.Value;

    /// <summary>Implements pkey_free(2): no key is ever allocated.</summary>
    public static long PkeyFree(Task t, in SyscallArgs a) => -Errno.EINVAL.Value;

    /// <summary>Implements pkey_mprotect(2) with do_mprotect_pkey's checks in Linux's order.</summary>
    public static long PkeyMprotect(Task t, in SyscallArgs a)
    {
        if (a.Int(3) == -1)
        {
            return SysMmap.Mprotect(t, a);
        }

        ulong start = a.Pointer(0);
        ulong len = a.SizeT(1);
        if ((start & (Mman.PageSize - 1)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (len == 0)
        {
            return 0;
        }

        ulong end = start + MemoryManager.PageUp(len);
        return end <= start ? -Errno.ENOMEM.Value : -Errno.EINVAL.Value;
    }
}
