using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel;

/// <summary>How a futex word is identified; words of different kinds never match, as in Linux.</summary>
internal enum FutexKeyKind : byte
{
    /// <summary>FUTEX_PRIVATE_FLAG: the address space and the address.</summary>
    Private,

    /// <summary>A shared operation on private memory: the address space and the address (Linux's FUT_OFF_MMSHARED).</summary>
    SharedPrivateMemory,

    /// <summary>A shared operation on shared memory: the MemoryFile offset, the same in every process.</summary>
    SharedMemory,
}

/// <summary>What futex waiters queue on. Owner is the MemoryManager, or the MemoryFile for shared memory.</summary>
internal readonly record struct FutexKey(object Owner, ulong Address, FutexKeyKind Kind)
{
    /// <summary>Highest futex address Linux's access_ok accepts on x86-64 (TASK_SIZE_MAX).</summary>
    public const ulong MaxAddress = 0x7fff_ffff_f000;

    /// <summary>
    /// Computes the key of the word at <paramref name="addr"/> as get_futex_key does: EINVAL when unaligned,
    /// EFAULT outside user space; private keys need no memory, shared ones resolve the page
    /// (<paramref name="write"/> when the operation will write the word).
    /// </summary>
    public static long Get(MemoryManager mm, ulong addr, bool isPrivate, bool write, out FutexKey key)
    {
        key = default;
        if ((addr & 3) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (addr > MaxAddress)
        {
            return -Errno.EFAULT.Value;
        }

        if (isPrivate)
        {
            key = new FutexKey(mm, addr, FutexKeyKind.Private);
            return 0;
        }

        long r = mm.ResolveSharedFutex(addr, write, out bool sharedMemory, out long fileOffset);
        if (r < 0)
        {
            return r;
        }

        key = sharedMemory
            ? new FutexKey(mm.MemoryFile, (ulong)fileOffset, FutexKeyKind.SharedMemory)
            : new FutexKey(mm, addr, FutexKeyKind.SharedPrivateMemory);
        return 0;
    }
}
