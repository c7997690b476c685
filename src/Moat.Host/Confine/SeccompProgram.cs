using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace Moat.Host;

/// <summary>
/// Compiles an allow-list of <see cref="SeccompRule"/>s into a classic-BPF seccomp program: x86-64 only
/// (any other audit arch and the x32 numbers take the default action), then a binary search on the syscall
/// number down to a leaf of at most <see cref="LeafSize"/> numbers, whose rules are short blocks that each
/// return ALLOW (or an errno) or fall through to the next, and the default action after them. A search
/// rather than one list because every syscall of a systrap app thread runs through the Sentry's inherited
/// filter (the kernel's allow cache cannot skip it while the app's own filter traps): about 15 instructions
/// instead of up to 350.
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
    private const ushort Ja = 0x05;
    private const int LeafSize = 2;
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

        // The rules of each number, in their order, the numbers sorted: A holds the number on every path in.
        var byNr = new SortedDictionary<uint, List<SeccompRule>>();
        foreach (SeccompRule rule in rules)
        {
            if (!byNr.TryGetValue((uint)rule.Nr, out List<SeccompRule>? list))
            {
                byNr[(uint)rule.Nr] = list = [];
            }

            list.Add(rule);
        }

        var nrs = new List<uint>(byNr.Keys);
        if (nrs.Count > 0)
        {
            insns.AddRange(Search(nrs, 0, nrs.Count, byNr, defaultAction));
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

    // Code for the numbers nrs[from..to): split at the middle number (jge; a far jump to the upper half, so no
    // conditional offset outgrows its byte), down to leaves. Position-independent: every jump is relative.
    private static List<ulong> Search(List<uint> nrs, int from, int to, SortedDictionary<uint, List<SeccompRule>> byNr, uint defaultAction)
    {
        if (to - from <= LeafSize)
        {
            return Leaf(nrs, from, to, byNr, defaultAction);
        }

        int mid = from + ((to - from) / 2);
        List<ulong> lower = Search(nrs, from, mid, byNr, defaultAction);
        List<ulong> upper = Search(nrs, mid, to, byNr, defaultAction);
        var code = new List<ulong>(lower.Count + upper.Count + 2);
        Emit(code, JgeK, 0, 1, nrs[mid]);
        Emit(code, Ja, 0, 0, (uint)lower.Count);
        code.AddRange(lower);
        code.AddRange(upper);
        return code;
    }

    // A leaf: each rule of its numbers as a block ([ld nr] jeq nr; arg tests; ret), a failed test jumping past
    // its block's end; after the last block, the default action (a number in the leaf's range but not listed).
    private static List<ulong> Leaf(List<uint> nrs, int from, int to, SortedDictionary<uint, List<SeccompRule>> byNr, uint defaultAction)
    {
        var code = new List<ulong>();
        for (int i = from; i < to; i++)
        {
            foreach (SeccompRule rule in byNr[nrs[i]])
            {
                EmitRule(code, rule);
            }
        }

        Emit(code, RetK, 0, 0, defaultAction);
        return code;
    }

    private static void EmitRule(List<ulong> insns, SeccompRule rule)
    {
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

    // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }, little-endian.
    private static void Emit(List<ulong> insns, ushort code, byte jt, byte jf, uint k) =>
        insns.Add(code | ((ulong)jt << 16) | ((ulong)jf << 24) | ((ulong)k << 32));
}
