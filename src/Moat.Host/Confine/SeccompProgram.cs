using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace Moat.Host;

/// <summary>
/// Compiles an allow-list of <see cref="SeccompRule"/>s into a classic-BPF seccomp program: x86-64 only
/// (any other audit arch and the x32 numbers take the default action), each rule a short block that
/// either returns ALLOW or falls through to the next, and the default action at the end.
/// </summary>
public static class SeccompProgram
{
    public const uint RetKillProcess = 0x80000000;
    public const uint RetAllow = 0x7FFF0000;
    public const uint RetTrap = 0x00030000;
    public const uint RetErrno = 0x00050000;
    public const uint AuditArchX86_64 = 0xC000003E;

    private const ushort LdAbsW = 0x20;
    private const ushort JeqK = 0x15;
    private const ushort JgeK = 0x35;
    private const ushort JsetK = 0x45;
    private const ushort RetK = 0x06;
    private const uint X32SyscallBit = 0x40000000;

    // Offsets in struct seccomp_data.
    private const uint NrOffset = 0;
    private const uint ArchOffset = 4;
    private const uint ArgsOffset = 16;

    /// <summary>SECCOMP_RET_ERRNO with <paramref name="errno"/>.</summary>
    public static uint Errno(int errno) => RetErrno | (uint)(errno & 0xFFFF);

    /// <summary>The program as bytes (8 per instruction), ready for a sock_fprog.</summary>
    public static byte[] Compile(ReadOnlySpan<SeccompRule> rules, uint defaultAction)
    {
        var insns = new List<ulong>();
        Emit(insns, LdAbsW, 0, 0, ArchOffset);
        Emit(insns, JeqK, 1, 0, AuditArchX86_64);
        Emit(insns, RetK, 0, 0, defaultAction);
        Emit(insns, LdAbsW, 0, 0, NrOffset);
        Emit(insns, JgeK, 0, 1, X32SyscallBit);
        Emit(insns, RetK, 0, 0, defaultAction);

        foreach (SeccompRule rule in rules)
        {
            // Each block: [ld nr] jeq nr; (arg tests); ret allow. A failed test jumps past the block's end.
            var block = new List<(ushort Code, bool JumpsOut, uint K, bool JumpOnTrue)>();
            block.Add((LdAbsW, false, NrOffset, false));
            block.Add((JeqK, true, (uint)rule.Nr, false));
            if (rule.ArgIndex >= 0)
            {
                uint lo = ArgsOffset + (uint)(8 * rule.ArgIndex);
                if (rule.Test == SeccompArgTest.Equal)
                {
                    block.Add((LdAbsW, false, lo, false));
                    block.Add((JeqK, true, (uint)rule.Operand, false));
                    block.Add((LdAbsW, false, lo + 4, false));
                    block.Add((JeqK, true, (uint)(rule.Operand >> 32), false));
                }
                else
                {
                    ulong forbidden = ~rule.Operand;
                    block.Add((LdAbsW, false, lo, false));
                    block.Add((JsetK, true, (uint)forbidden, true));
                    block.Add((LdAbsW, false, lo + 4, false));
                    block.Add((JsetK, true, (uint)(forbidden >> 32), true));
                }
            }

            block.Add((RetK, false, rule.Errno != 0 ? Errno(rule.Errno) : RetAllow, false));
            for (int k = 0; k < block.Count; k++)
            {
                (ushort code, bool jumpsOut, uint kv, bool onTrue) = block[k];
                byte skip = (byte)(block.Count - k - 1); // to the first instruction after the block
                byte jt = jumpsOut && onTrue ? skip : (byte)0;
                byte jf = jumpsOut && !onTrue ? skip : (byte)0;
                Emit(insns, code, jt, jf, kv);
            }

        }

        Emit(insns, RetK, 0, 0, defaultAction);
        if (insns.Count > 4096)
        {
            throw new InvalidOperationException("seccomp program longer than BPF_MAXINSNS");
        }

        byte[] bytes = new byte[insns.Count * 8];
        for (int i = 0; i < insns.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), insns[i]);
        }

        return bytes;
    }

    // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }, little-endian.
    private static void Emit(List<ulong> insns, ushort code, byte jt, byte jf, uint k) =>
        insns.Add(code | ((ulong)jt << 16) | ((ulong)jf << 24) | ((ulong)k << 32));
}
