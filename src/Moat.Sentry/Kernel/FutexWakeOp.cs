using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel;

/// <summary>
/// FUTEX_WAKE_OP's encoded operation: bits 28-30 the operation, bit 31 "operand is a shift count", bits 24-27
/// the comparison, bits 12-23 the operand and bits 0-11 the comparison argument (both sign-extended 12-bit).
/// </summary>
internal readonly struct FutexWakeOp
{
    private const uint OpargShift = 8;

    private readonly uint _encoded;

    public FutexWakeOp(uint encoded) => _encoded = encoded;

    private int Op => (int)((_encoded >> 28) & 7);

    private int Cmp => (int)((_encoded >> 24) & 15);

    private int Oparg => (int)(_encoded << 8) >> 20;

    private int Cmparg => (int)(_encoded << 20) >> 20;

    /// <summary>
    /// Applies the operation to the word at <paramref name="addr"/> and evaluates the comparison on its old value.
    /// As Linux: an unknown operation is ENOSYS with the word untouched; an unknown comparison is ENOSYS after
    /// the word has changed; a word that cannot be written is EFAULT.
    /// </summary>
    public long Apply(MemoryManager mm, ulong addr, out bool condition)
    {
        condition = false;
        if (Op > (int)AtomicOp.Xor)
        {
            return -Errno.ENOSYS.Value;
        }

        int oparg = Oparg;
        if (((_encoded >> 28) & OpargShift) != 0)
        {
            // Linux logs and masks out-of-range shift counts instead of refusing them.
            oparg = 1 << (oparg & 31);
        }

        long r = mm.AtomicUInt32(addr, (AtomicOp)Op, (uint)oparg, out uint previous);
        if (r < 0)
        {
            return r;
        }

        int old = (int)previous;
        int cmparg = Cmparg;
        switch (Cmp)
        {
            case 0: // FUTEX_OP_CMP_EQ
                condition = old == cmparg;
                return 0;
            case 1: // FUTEX_OP_CMP_NE
                condition = old != cmparg;
                return 0;
            case 2: // FUTEX_OP_CMP_LT
                condition = old < cmparg;
                return 0;
            case 3: // FUTEX_OP_CMP_LE
                condition = old <= cmparg;
                return 0;
            case 4: // FUTEX_OP_CMP_GT
                condition = old > cmparg;
                return 0;
            case 5: // FUTEX_OP_CMP_GE
                condition = old >= cmparg;
                return 0;
            default:
                return -Errno.ENOSYS.Value;
        }
    }
}
