using Moat.Abi;

namespace Moat.Sentry.Kernel.Seccomp;

/// <summary>
/// struct seccomp_data, what a filter reads: the call's number, its audit architecture, the address after
/// the system call instruction, and its six arguments. Filters read it as aligned 32-bit words.
/// </summary>
internal readonly struct SeccompData
{
    public SeccompData(int nr, uint arch, ulong ip, ulong a0, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        Nr = nr;
        Arch = arch;
        InstructionPointer = ip;
        Arg0 = a0;
        Arg1 = a1;
        Arg2 = a2;
        Arg3 = a3;
        Arg4 = a4;
        Arg5 = a5;
    }

    public int Nr { get; }

    public uint Arch { get; }

    public ulong InstructionPointer { get; }

    public ulong Arg0 { get; }

    public ulong Arg1 { get; }

    public ulong Arg2 { get; }

    public ulong Arg3 { get; }

    public ulong Arg4 { get; }

    public ulong Arg5 { get; }

    /// <summary>Argument <paramref name="i"/> (0-5).</summary>
    public ulong Arg(int i) => i switch
    {
        0 => Arg0,
        1 => Arg1,
        2 => Arg2,
        3 => Arg3,
        4 => Arg4,
        _ => Arg5,
    };

    /// <summary>
    /// The little-endian 32-bit word at byte <paramref name="offset"/>. Precondition: offset is 4-aligned and
    /// below 64 (the verifier refuses any other load).
    /// </summary>
    public uint Word(uint offset)
    {
        switch (offset)
        {
            case 0:
                return (uint)Nr;
            case 4:
                return Arch;
            case 8:
                return (uint)InstructionPointer;
            case 12:
                return (uint)(InstructionPointer >> 32);
            default:
                ulong arg = Arg((int)((offset - 16) / 8));
                return (offset & 4) == 0 ? (uint)arg : (uint)(arg >> 32);
        }
    }

    /// <summary>A word past the end is never read: <see cref="SeccompAbi.SeccompDataSize"/> bounds every load.</summary>
    public const uint Size = SeccompAbi.SeccompDataSize;
}
