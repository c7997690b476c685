using System.Runtime.InteropServices;

namespace Moat.Abi;

/// <summary>siginfo_t on x86-64 (128 bytes). Only the fields Moat reads are named; the union is raw.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
public struct SigInfo
{
    [FieldOffset(0)] public int si_signo;
    [FieldOffset(4)] public int si_errno;
    [FieldOffset(8)] public int si_code;

    /// <summary>For SIGSEGV/SIGBUS/SIGILL/SIGFPE: the faulting address.</summary>
    [FieldOffset(16)] public ulong si_addr;

    /// <summary>For kill(2)-style signals: the sender's pid.</summary>
    [FieldOffset(16)] public int si_pid;

    [FieldOffset(20)] public int si_uid;

    /// <summary>For SIGCHLD: the child's exit status.</summary>
    [FieldOffset(24)] public int si_status;

    /// <summary>For SIGSYS from a seccomp filter: the address after the system call instruction.</summary>
    [FieldOffset(16)] public ulong si_call_addr;

    /// <summary>For SIGSYS from a seccomp filter: the system call number.</summary>
    [FieldOffset(24)] public int si_syscall;

    /// <summary>For SIGSYS from a seccomp filter: the call's audit architecture.</summary>
    [FieldOffset(28)] public uint si_arch;

    public const int Size = 128;

    // si_code values.
    public const int SI_USER = 0;
    public const int SI_KERNEL = 0x80;
    public const int SI_TKILL = -6;
    public const int SEGV_MAPERR = 1;
    public const int SEGV_ACCERR = 2;
}
