using System;
using static Moat.Sentry.Kernel.Seccomp.BpfInstruction;

namespace Moat.Sentry.Kernel.Seccomp;

/// <summary>
/// Runs a verified classic BPF program over a <see cref="SeccompData"/>: 32-bit A and X, 16 scratch cells,
/// forward jumps only. Allocation-free: it runs on every system call of a filtered task.
/// </summary>
internal static class BpfInterpreter
{
    /// <summary>
    /// The program's return value. Precondition: <see cref="BpfVerifier.Check"/> accepted the program. A
    /// division by an X of 0 ends it with 0, as Linux's translation of classic BPF does (for seccomp: KILL_THREAD).
    /// </summary>
    public static uint Run(ReadOnlySpan<BpfInstruction> prog, in SeccompData data)
    {
        Span<uint> mem = stackalloc uint[MemWords];
        uint a = 0;
        uint x = 0;
        int pc = 0;
        while (true)
        {
            BpfInstruction i = prog[pc++];
            switch (i.Code)
            {
                case Ld | W | Abs:
                    a = data.Word(i.K);
                    break;
                case Ld | W | Len:
                    a = SeccompData.Size;
                    break;
                case Ldx | W | Len:
                    x = SeccompData.Size;
                    break;
                case Ld | Imm:
                    a = i.K;
                    break;
                case Ldx | Imm:
                    x = i.K;
                    break;
                case Ld | Mem:
                    a = mem[(int)i.K];
                    break;
                case Ldx | Mem:
                    x = mem[(int)i.K];
                    break;
                case St:
                    mem[(int)i.K] = a;
                    break;
                case Stx:
                    mem[(int)i.K] = x;
                    break;
                case Misc | Tax:
                    x = a;
                    break;
                case Misc | Txa:
                    a = x;
                    break;
                case Alu | Add | K_: a += i.K; break;
                case Alu | Add | X: a += x; break;
                case Alu | Sub | K_: a -= i.K; break;
                case Alu | Sub | X: a -= x; break;
                case Alu | Mul | K_: a *= i.K; break;
                case Alu | Mul | X: a *= x; break;
                case Alu | Div | K_: a /= i.K; break;
                case Alu | Div | X:
                    if (x == 0)
                    {
                        return 0;
                    }

                    a /= x;
                    break;
                case Alu | And | K_: a &= i.K; break;
                case Alu | And | X: a &= x; break;
                case Alu | Or | K_: a |= i.K; break;
                case Alu | Or | X: a |= x; break;
                case Alu | Xor | K_: a ^= i.K; break;
                case Alu | Xor | X: a ^= x; break;
                case Alu | Lsh | K_: a <<= (int)i.K; break;
                case Alu | Lsh | X: a <<= (int)(x & 31); break; // the count masked, as x86 and Linux's interpreter do
                case Alu | Rsh | K_: a >>= (int)i.K; break;
                case Alu | Rsh | X: a >>= (int)(x & 31); break;
                case Alu | Neg: a = 0 - a; break;
                case Jmp | Ja:
                    pc += (int)i.K;
                    break;
                case Jmp | Jeq | K_: pc += a == i.K ? i.Jt : i.Jf; break;
                case Jmp | Jeq | X: pc += a == x ? i.Jt : i.Jf; break;
                case Jmp | Jgt | K_: pc += a > i.K ? i.Jt : i.Jf; break;
                case Jmp | Jgt | X: pc += a > x ? i.Jt : i.Jf; break;
                case Jmp | Jge | K_: pc += a >= i.K ? i.Jt : i.Jf; break;
                case Jmp | Jge | X: pc += a >= x ? i.Jt : i.Jf; break;
                case Jmp | Jset | K_: pc += (a & i.K) != 0 ? i.Jt : i.Jf; break;
                case Jmp | Jset | X: pc += (a & x) != 0 ? i.Jt : i.Jf; break;
                case Ret | K_:
                    return i.K;
                case Ret | A:
                    return a;
                default:
                    // Unreachable for a verified program; fail closed.
                    return 0;
            }
        }
    }
}
