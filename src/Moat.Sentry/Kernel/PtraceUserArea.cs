using System;
using System.Runtime.InteropServices;
using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>
/// A stopped tracee's registers as ptrace(2) reads and writes them: struct user's words (PEEKUSER/POKEUSER)
/// and the whole user_regs_struct (SETREGS), with Linux's putreg checks.
/// </summary>
internal static class PtraceUserArea
{
    private const int FsBase = 21;
    private const int GsBase = 22;
    private const int Cs = 17;
    private const int Eflags = 18;
    private const int Ss = 20;
    private const int Ds = 23;
    private const int Gs = 26;
    private const ulong TaskSizeMax = 0x7ffffffff000;

    /// <summary>
    /// PTRACE_PEEKUSER's word at <paramref name="offset"/> (8-aligned, below sizeof(struct user)). The debug
    /// registers read 0: the sandbox keeps none (no hardware breakpoints or watchpoints).
    /// </summary>
    public static ulong Peek(Task target, int offset) =>
        offset < PtraceRegs.Size ? Words(ref target.Registers)[offset / 8] : 0;

    /// <summary>
    /// PTRACE_POKEUSER. Other words of struct user are EIO as in Linux; a debug register takes only 0 (EIO
    /// otherwise, where Linux would arm it: no hardware breakpoints, so gdb falls back to software ones).
    /// </summary>
    public static Errno Poke(Task target, int offset, ulong value)
    {
        if (offset < PtraceRegs.Size)
        {
            return SetRegister(ref target.Registers, offset / 8, value);
        }

        if (offset >= PtraceAbi.UserDebugRegOffset && offset < PtraceAbi.UserDebugRegEnd)
        {
            return value == 0 ? default : Errno.EIO;
        }

        return Errno.EIO;
    }

    /// <summary>PTRACE_SETREGS: each register in order, stopping at the first one refused (as Linux's loop of putreg).</summary>
    public static Errno SetAll(Task target, in PtraceRegs regs)
    {
        PtraceRegs copy = regs;
        Span<ulong> src = Words(ref copy);
        for (int i = 0; i < src.Length; i++)
        {
            Errno e = SetRegister(ref target.Registers, i, src[i]);
            if (e.Value != 0)
            {
                return e;
            }
        }

        return default;
    }

    // Linux's putreg: TLS bases must be user addresses; only the flags a user may change change. The segment
    // selectors are the platform's (64-bit code and data): where Linux takes any RPL-3 selector, another value
    // is refused with EIO rather than accepted and not loaded.
    private static Errno SetRegister(ref PtraceRegs regs, int index, ulong value)
    {
        Span<ulong> words = Words(ref regs);
        switch (index)
        {
            case FsBase or GsBase:
                if (value >= TaskSizeMax)
                {
                    return Errno.EIO;
                }

                break;
            case Cs or Ss or (>= Ds and <= Gs):
                return value == words[index] ? default : Errno.EIO;
            case Eflags:
                value = (words[index] & ~PtraceAbi.EflagsUserMask) | (value & PtraceAbi.EflagsUserMask);
                break;
        }

        words[index] = value;
        return default;
    }

    private static Span<ulong> Words(ref PtraceRegs regs) =>
        MemoryMarshal.Cast<PtraceRegs, ulong>(MemoryMarshal.CreateSpan(ref regs, 1));
}
