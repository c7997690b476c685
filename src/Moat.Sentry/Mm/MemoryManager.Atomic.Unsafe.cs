using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>The read-modify-write operations of FUTEX_WAKE_OP, in Linux's numbering.</summary>
internal enum AtomicOp
{
    Set = 0,
    Add = 1,
    Or = 2,
    AndNot = 3,
    Xor = 4,
}

/// <summary>
/// Atomic operations on 32-bit words of app memory, for futexes: the app's threads touch the same MemoryFile
/// pages concurrently through the stub's mappings, so these are real atomic instructions on the Sentry's mapping.
/// </summary>
internal sealed unsafe partial class MemoryManager
{
    /// <summary>
    /// Compares the aligned word at <paramref name="addr"/> with <paramref name="expected"/> and replaces it with
    /// <paramref name="value"/> if equal. Returns 0 with the word's previous value, or -EFAULT.
    /// </summary>
    public long CompareAndSwapUInt32(ulong addr, uint expected, uint value, out uint previous)
    {
        previous = 0;
        long n = Translate(addr, sizeof(uint), AccessType.Write, out byte* p, out Pinned pin);
        using (pin)
        {
            if (n < sizeof(uint))
            {
                return -Errno.EFAULT.Value;
            }

            previous = Interlocked.CompareExchange(ref *(uint*)p, value, expected);
            return 0;
        }
    }

    /// <summary>
    /// Applies <paramref name="op"/> with <paramref name="operand"/> to the aligned word at <paramref name="addr"/>
    /// atomically. Returns 0 with the word's previous value, or -EFAULT.
    /// </summary>
    public long AtomicUInt32(ulong addr, AtomicOp op, uint operand, out uint previous)
    {
        previous = 0;
        long n = Translate(addr, sizeof(uint), AccessType.Write, out byte* p, out Pinned pin);
        using (pin)
        {
            if (n < sizeof(uint))
            {
                return -Errno.EFAULT.Value;
            }

            ref uint word = ref *(uint*)p;
            previous = op switch
            {
                AtomicOp.Set => Interlocked.Exchange(ref word, operand),
                AtomicOp.Add => Interlocked.Add(ref word, operand) - operand,
                AtomicOp.Or => Interlocked.Or(ref word, operand),
                AtomicOp.AndNot => Interlocked.And(ref word, ~operand),
                _ => XorUInt32(ref word, operand),
            };
            return 0;
        }
    }

    private static uint XorUInt32(ref uint word, uint operand)
    {
        uint old = Volatile.Read(ref word);
        while (true)
        {
            uint seen = Interlocked.CompareExchange(ref word, old ^ operand, old);
            if (seen == old)
            {
                return old;
            }

            old = seen;
        }
    }

    /// <summary>
    /// Resolves the word at <paramref name="addr"/> for a shared (not FUTEX_PRIVATE_FLAG) futex operation, as
    /// Linux's get_futex_key does: memory shared between address spaces is identified by its MemoryFile offset,
    /// so every process mapping it finds the same waiters; private memory stays identified by address space
    /// and address. Returns 0, or -EFAULT where Linux cannot pin the page (unmapped, PROT_NONE, not writable
    /// when <paramref name="write"/>, or private memory that is read-only and so can never change).
    /// </summary>
    public long ResolveSharedFutex(ulong addr, bool write, out bool sharedMemory, out long fileOffset)
    {
        sharedMemory = false;
        fileOffset = 0;
        lock (_mu)
        {
            int i = _vmas.IndexOf(addr);
            if (i < 0)
            {
                return -Errno.EFAULT.Value;
            }

            Vma v = _vmas[i];
            bool writable = (v.Prot & Mman.PROT_WRITE) != 0;
            if (v.Prot == Mman.PROT_NONE || (write && !writable))
            {
                return -Errno.EFAULT.Value;
            }

            if (!v.Shared)
            {
                return writable ? 0 : -Errno.EFAULT.Value;
            }

            int p = EnsurePmaLocked(v, PageDown(addr), out _);
            if (p < 0)
            {
                return -Errno.EFAULT.Value;
            }

            Pma pma = _pmas[p];
            sharedMemory = true;
            fileOffset = pma.FileOffset + (long)(addr - pma.Start);
            return 0;
        }
    }
}
