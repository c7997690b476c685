using System.Runtime.InteropServices;

namespace Moat.Abi;

/// <summary>struct user_regs_struct on x86-64: what PTRACE_GETREGS/SETREGS transfer.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PtraceRegs
{
    public ulong r15;
    public ulong r14;
    public ulong r13;
    public ulong r12;
    public ulong rbp;
    public ulong rbx;
    public ulong r11;
    public ulong r10;
    public ulong r9;
    public ulong r8;
    public ulong rax;
    public ulong rcx;
    public ulong rdx;
    public ulong rsi;
    public ulong rdi;
    public ulong orig_rax;
    public ulong rip;
    public ulong cs;
    public ulong eflags;
    public ulong rsp;
    public ulong ss;
    public ulong fs_base;
    public ulong gs_base;
    public ulong ds;
    public ulong es;
    public ulong fs;
    public ulong gs;

    /// <summary>Size in bytes, as the kernel defines it (27 * 8).</summary>
    public const int Size = 216;
}
