using System;
using Moat.Abi;
using static Moat.Sentry.Kernel.Seccomp.BpfInstruction;

namespace Moat.Sentry.Kernel.Seccomp;

/// <summary>
/// The checks Linux makes before it accepts a seccomp program (bpf_check_classic, then seccomp_check_filter):
/// 1 to 4096 instructions, only the opcodes seccomp allows, constant divisors not 0 and shifts below 32,
/// scratch cells in range and stored before any path loads them, jumps inside the program, a RET at the end,
/// loads only of aligned words inside struct seccomp_data. Every failure is EINVAL, as in Linux.
/// </summary>
internal static class BpfVerifier
{
    public static Errno Check(ReadOnlySpan<BpfInstruction> prog)
    {
        int len = prog.Length;
        if (len == 0 || len > SeccompAbi.BPF_MAXINSNS)
        {
            return Errno.EINVAL;
        }

        for (int pc = 0; pc < len; pc++)
        {
            BpfInstruction i = prog[pc];
            if (!Allowed(i.Code))
            {
                return Errno.EINVAL;
            }

            switch (i.Code)
            {
                case Ld | W | Abs:
                    if (i.K >= SeccompData.Size || (i.K & 3) != 0)
                    {
                        return Errno.EINVAL;
                    }

                    break;
                case Alu | Div | K_:
                    if (i.K == 0)
                    {
                        return Errno.EINVAL;
                    }

                    break;
                case Alu | Lsh | K_:
                case Alu | Rsh | K_:
                    if (i.K >= 32)
                    {
                        return Errno.EINVAL;
                    }

                    break;
                case Ld | Mem:
                case Ldx | Mem:
                case St:
                case Stx:
                    if (i.K >= MemWords)
                    {
                        return Errno.EINVAL;
                    }

                    break;
                case Jmp | Ja:
                    // Compared unsigned, as Linux does: a huge k is out of range, not a backward jump.
                    if (i.K >= (uint)(len - pc - 1))
                    {
                        return Errno.EINVAL;
                    }

                    break;
                default:
                    if ((i.Code & 0x07) == Jmp && (pc + i.Jt + 1 >= len || pc + i.Jf + 1 >= len))
                    {
                        return Errno.EINVAL;
                    }

                    break;
            }
        }

        if (prog[len - 1].Code is not (Ret | K_) and not (Ret | A))
        {
            return Errno.EINVAL;
        }

        return ScratchStoredBeforeLoaded(prog) ? Errno.None : Errno.EINVAL;
    }

    /// <summary>
    /// The length Linux charges a filter against MAX_INSNS_PER_PATH: that of its translation to eBPF (measured
    /// against Linux 6.18): 3 instructions of prologue; RET K 2; DIV X 5 (a zero test, then the division);
    /// a conditional jump 1 when one branch falls through (JSET only for the false one), else 2, and 1 more
    /// for a constant with the sign bit set; every other instruction 1.
    /// </summary>
    public static int TranslatedLength(ReadOnlySpan<BpfInstruction> prog)
    {
        int n = 3;
        foreach (BpfInstruction i in prog)
        {
            if (i.Code == (Ret | K_))
            {
                n += 2;
            }
            else if (i.Code == (Alu | Div | X))
            {
                n += 5;
            }
            else if ((i.Code & 0x07) == Jmp && (i.Code & 0xf0) != Ja)
            {
                bool fallsThrough = i.Jf == 0 || (i.Jt == 0 && (i.Code & 0xf0) != Jset);
                n += (fallsThrough ? 1 : 2) + ((i.Code & X) == 0 && (int)i.K < 0 ? 1 : 0);
            }
            else
            {
                n++;
            }
        }

        return n;
    }

    // Whether seccomp accepts an opcode: classic BPF without packet loads (byte, half-word, indexed) and MOD.
    private static bool Allowed(ushort code) => code switch
    {
        Ld | W | Abs or Ld | W | Len or Ldx | W | Len => true,
        Ret | K_ or Ret | A => true,
        Alu | Add | K_ or Alu | Add | X or Alu | Sub | K_ or Alu | Sub | X => true,
        Alu | Mul | K_ or Alu | Mul | X or Alu | Div | K_ or Alu | Div | X => true,
        Alu | And | K_ or Alu | And | X or Alu | Or | K_ or Alu | Or | X => true,
        Alu | Xor | K_ or Alu | Xor | X or Alu | Lsh | K_ or Alu | Lsh | X => true,
        Alu | Rsh | K_ or Alu | Rsh | X or Alu | Neg => true,
        Ld | Imm or Ldx | Imm or Misc | Tax or Misc | Txa => true,
        Ld | Mem or Ldx | Mem or St or Stx => true,
        Jmp | Ja => true,
        Jmp | Jeq | K_ or Jmp | Jeq | X or Jmp | Jge | K_ or Jmp | Jge | X => true,
        Jmp | Jgt | K_ or Jmp | Jgt | X or Jmp | Jset | K_ or Jmp | Jset | X => true,
        _ => false,
    };

    // Jumps only go forward, so one pass suffices: each instruction's set of surely-stored cells is the
    // intersection over every way in (falling through and each jump that lands on it).
    private static bool ScratchStoredBeforeLoaded(ReadOnlySpan<BpfInstruction> prog)
    {
        Span<ushort> landing = prog.Length <= 512 ? stackalloc ushort[prog.Length] : new ushort[prog.Length];
        landing.Fill(0xffff);
        ushort stored = 0;
        for (int pc = 0; pc < prog.Length; pc++)
        {
            BpfInstruction i = prog[pc];
            stored &= landing[pc];
            switch (i.Code)
            {
                case St:
                case Stx:
                    stored |= (ushort)(1 << (int)i.K);
                    break;
                case Ld | Mem:
                case Ldx | Mem:
                    if ((stored & (1 << (int)i.K)) == 0)
                    {
                        return false;
                    }

                    break;
                case Jmp | Ja:
                    landing[pc + 1 + (int)i.K] &= stored;
                    stored = 0xffff; // nothing falls through an unconditional jump
                    break;
                default:
                    if ((i.Code & 0x07) == Jmp)
                    {
                        landing[pc + 1 + i.Jt] &= stored;
                        landing[pc + 1 + i.Jf] &= stored;
                        stored = 0xffff;
                    }

                    break;
            }
        }

        return true;
    }
}
