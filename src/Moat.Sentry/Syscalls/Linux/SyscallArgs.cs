using Moat.Abi;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>The six argument registers of a system call, with typed accessors.</summary>
internal readonly struct SyscallArgs
{
    private readonly ulong _a0;
    private readonly ulong _a1;
    private readonly ulong _a2;
    private readonly ulong _a3;
    private readonly ulong _a4;
    private readonly ulong _a5;

    public SyscallArgs(in PtraceRegs regs)
    {
        _a0 = regs.rdi;
        _a1 = regs.rsi;
        _a2 = regs.rdx;
        _a3 = regs.r10;
        _a4 = regs.r8;
        _a5 = regs.r9;
    }

    public SyscallArgs(ulong a0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        _a0 = a0;
        _a1 = a1;
        _a2 = a2;
        _a3 = a3;
        _a4 = a4;
        _a5 = a5;
    }

    /// <summary>The raw 64-bit value of argument <paramref name="i"/> (0-5).</summary>
    public ulong this[int i] => i switch
    {
        0 => _a0,
        1 => _a1,
        2 => _a2,
        3 => _a3,
        4 => _a4,
        _ => _a5,
    };

    /// <summary>An int argument: the kernel uses the low 32 bits.</summary>
    public int Int(int i) => (int)this[i];

    public uint UInt(int i) => (uint)this[i];

    public long Long(int i) => (long)this[i];

    public ulong Pointer(int i) => this[i];

    public ulong SizeT(int i) => this[i];
}
