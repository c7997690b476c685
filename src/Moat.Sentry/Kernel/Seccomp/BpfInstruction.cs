using System;
using System.Buffers.Binary;

namespace Moat.Sentry.Kernel.Seccomp;

/// <summary>
/// One classic BPF instruction (struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, 8 bytes little-endian).
/// The opcode constants are Linux's (include/uapi/linux/bpf_common.h, filter.h).
/// </summary>
internal readonly record struct BpfInstruction(ushort Code, byte Jt, byte Jf, uint K)
{
    public const int Size = 8;

    // Classes.
    public const ushort Ld = 0x00;
    public const ushort Ldx = 0x01;
    public const ushort St = 0x02;
    public const ushort Stx = 0x03;
    public const ushort Alu = 0x04;
    public const ushort Jmp = 0x05;
    public const ushort Ret = 0x06;
    public const ushort Misc = 0x07;

    // Sizes and modes of loads.
    public const ushort W = 0x00;
    public const ushort Imm = 0x00;
    public const ushort Abs = 0x20;
    public const ushort Mem = 0x60;
    public const ushort Len = 0x80;

    // ALU operations.
    public const ushort Add = 0x00;
    public const ushort Sub = 0x10;
    public const ushort Mul = 0x20;
    public const ushort Div = 0x30;
    public const ushort Or = 0x40;
    public const ushort And = 0x50;
    public const ushort Lsh = 0x60;
    public const ushort Rsh = 0x70;
    public const ushort Neg = 0x80;
    public const ushort Xor = 0xa0;

    // Jumps.
    public const ushort Ja = 0x00;
    public const ushort Jeq = 0x10;
    public const ushort Jgt = 0x20;
    public const ushort Jge = 0x30;
    public const ushort Jset = 0x40;

    // Operand sources: the constant k or register X; RET's A.
    public const ushort K_ = 0x00;
    public const ushort X = 0x08;
    public const ushort A = 0x10;

    // MISC.
    public const ushort Tax = 0x00;
    public const ushort Txa = 0x80;

    /// <summary>BPF_MEMWORDS: the scratch memory cells M[0..15].</summary>
    public const int MemWords = 16;

    public static BpfInstruction Stmt(ushort code, uint k) => new(code, 0, 0, k);

    public static BpfInstruction Jump(ushort code, uint k, byte jt, byte jf) => new(code, jt, jf, k);

    /// <summary>Decodes instructions from their bytes (8 each) as the application wrote them.</summary>
    public static BpfInstruction[] Decode(ReadOnlySpan<byte> bytes)
    {
        var insns = new BpfInstruction[bytes.Length / Size];
        for (int i = 0; i < insns.Length; i++)
        {
            ReadOnlySpan<byte> b = bytes.Slice(i * Size, Size);
            insns[i] = new BpfInstruction(BinaryPrimitives.ReadUInt16LittleEndian(b), b[2], b[3], BinaryPrimitives.ReadUInt32LittleEndian(b[4..]));
        }

        return insns;
    }
}
