using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;

namespace Moat.Tests.Host;

/// <summary>The compiled seccomp programs, run by a small classic-BPF interpreter over struct seccomp_data.</summary>
public sealed class SeccompProgramTests
{
    private const uint ThreadCloneFlags = 0x3D0F00;

    [Fact]
    public void Gofer_AllowsItsServingCalls()
    {
        byte[] prog = GoferProgram();
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, Sysno.recvmsg));
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, Sysno.sendmsg));
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, Sysno.openat2));
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, Sysno.futex));
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, Sysno.exit_group));
    }

    [Theory]
    [InlineData(Sysno.execve)]
    [InlineData(Sysno.execveat)]
    [InlineData(Sysno.socket)]
    [InlineData(Sysno.connect)]
    [InlineData(Sysno.mount)]
    [InlineData(Sysno.umount2)]
    [InlineData(Sysno.pivot_root)]
    [InlineData(Sysno.ptrace)]
    [InlineData(Sysno.process_vm_writev)]
    [InlineData(Sysno.kill)]
    [InlineData(Sysno.setns)]
    [InlineData(Sysno.unshare)]
    [InlineData(Sysno.open_by_handle_at)]
    [InlineData(Sysno.bpf)]
    [InlineData(Sysno.capset)]
    [InlineData(Sysno.fork)]
    public void Gofer_KillsOnEverythingElse(int nr)
    {
        Assert.Equal(SeccompProgram.RetKillProcess, Run(GoferProgram(), nr));
    }

    [Fact]
    public void Gofer_CloneOnlyForThreads_Clone3Enosys()
    {
        byte[] prog = GoferProgram();
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, Sysno.clone, ThreadCloneFlags));
        Assert.Equal(SeccompProgram.RetKillProcess, Run(prog, Sysno.clone, 17 /* SIGCHLD: a fork */));
        Assert.Equal(SeccompProgram.RetKillProcess, Run(prog, Sysno.clone, ThreadCloneFlags | 0x10000000 /* CLONE_NEWUSER */));
        Assert.Equal(SeccompProgram.RetKillProcess, Run(prog, Sysno.clone, ThreadCloneFlags | (1UL << 32)));
        Assert.Equal(SeccompProgram.Errno(38), Run(prog, Sysno.clone3));
    }

    [Fact]
    public void Gofer_PrctlOnlyToNameThreads()
    {
        byte[] prog = GoferProgram();
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, Sysno.prctl, 15 /* PR_SET_NAME */));
        Assert.Equal(SeccompProgram.RetKillProcess, Run(prog, Sysno.prctl, 22 /* PR_SET_SECCOMP */));
        Assert.Equal(SeccompProgram.RetKillProcess, Run(prog, Sysno.prctl, 8 /* PR_SET_KEEPCAPS */));
    }

    [Fact]
    public void Gofer_MayReadLimits_NeverSetThem()
    {
        byte[] prog = GoferProgram();
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, Sysno.prlimit64, 0, 3 /* RLIMIT_STACK */, 0));
        Assert.Equal(SeccompProgram.RetKillProcess, Run(prog, Sysno.prlimit64, 0, 3, 0x7fff_0000_1000));
    }

    [Fact]
    public void OtherArchitectureAndX32_TakeTheDefault()
    {
        byte[] prog = GoferProgram();
        Assert.Equal(SeccompProgram.RetKillProcess, Run(prog, Sysno.recvmsg, arch: 0x40000003 /* i386 */));
        Assert.Equal(SeccompProgram.RetKillProcess, Run(prog, 0x40000000 | Sysno.recvmsg));
    }

    [Fact]
    public void BitsWithin_RejectsAnyBitOutsideTheMask_InBothHalves()
    {
        byte[] prog = SeccompProgram.Compile([SeccompRule.IfBitsWithin(1, 2, 0x0000_0001_0000_00FF, "test")], SeccompProgram.Errno(1));
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, 1, 0, 0, 0x0000_0001_0000_0012));
        Assert.Equal(SeccompProgram.RetAllow, Run(prog, 1, 0, 0, 0));
        Assert.Equal(SeccompProgram.Errno(1), Run(prog, 1, 0, 0, 0x100));
        Assert.Equal(SeccompProgram.Errno(1), Run(prog, 1, 0, 0, 0x0000_0002_0000_0000));
        Assert.Equal(SeccompProgram.Errno(1), Run(prog, 2));
    }

    [Fact]
    public void BinarySearch_AnswersAsTheListReadInOrder_ForEveryNumberAndArgument()
    {
        // The gofer's real list, and a large synthetic one whose upper halves lie more than 255 instructions away.
        var synthetic = new System.Collections.Generic.List<SeccompRule>();
        for (int nr = 0; nr < 900; nr += 3)
        {
            synthetic.Add(nr % 9 == 0 ? SeccompRule.IfEqual(nr, 0, 7, "test") : SeccompRule.Allow(nr, "test"));
            if (nr % 27 == 0)
            {
                synthetic.Add(SeccompRule.IfBitsWithin(nr, 1, 0xF0, "test"));
                synthetic.Add(SeccompRule.Fail(nr, 38, "test"));
            }
        }

        foreach (SeccompRule[] rules in new[] { GoferSyscalls.Rules, synthetic.ToArray() })
        {
            byte[] prog = SeccompProgram.Compile(rules, SeccompProgram.RetTrap);
            for (int nr = 0; nr < 1000; nr++)
            {
                foreach ((ulong a0, ulong a1) in new[] { (0UL, 0UL), (7UL, 0x30UL), (ThreadCloneFlags, 0UL), (15UL, 0x100UL), (7UL | (1UL << 32), 0UL) })
                {
                    Assert.Equal(Reference(rules, nr, a0, a1, SeccompProgram.RetTrap), Run(prog, nr, a0, a1));
                }
            }
        }
    }

    // What the list says, read rule by rule in its order: the first rule of the number whose test passes.
    private static uint Reference(SeccompRule[] rules, int nr, ulong a0, ulong a1, uint defaultAction)
    {
        foreach (SeccompRule r in rules)
        {
            if (r.Nr != nr)
            {
                continue;
            }

            ulong arg = r.ArgIndex switch { 0 => a0, 1 => a1, _ => 0 };
            bool pass = r.Test switch
            {
                SeccompArgTest.Equal => arg == r.Operand,
                SeccompArgTest.BitsWithin => (arg & ~r.Operand) == 0,
                _ => true,
            };
            if (pass)
            {
                return r.Errno != 0 ? SeccompProgram.Errno(r.Errno) : SeccompProgram.RetAllow;
            }
        }

        return defaultAction;
    }

    private static byte[] GoferProgram() => SeccompProgram.Compile(GoferSyscalls.Rules, SeccompProgram.RetKillProcess);

    private static uint Run(byte[] prog, int nr, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, uint arch = SeccompProgram.AuditArchX86_64)
    {
        // struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; }
        byte[] data = new byte[64];
        BinaryPrimitives.WriteInt32LittleEndian(data, nr);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), arch);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(16), a0);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(24), a1);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(32), a2);
        return Interpret(prog, data);
    }

    // The subset of classic BPF the compiler emits: ld abs w, ja, jeq/jge/jset k, ret k.
    private static uint Interpret(byte[] prog, byte[] data)
    {
        uint a = 0;
        int pc = 0;
        for (int steps = 0; steps < 10_000; steps++)
        {
            ReadOnlySpan<byte> insn = prog.AsSpan(pc * 8, 8);
            ushort code = BinaryPrimitives.ReadUInt16LittleEndian(insn);
            byte jt = insn[2];
            byte jf = insn[3];
            uint k = BinaryPrimitives.ReadUInt32LittleEndian(insn[4..]);
            pc++;
            switch (code)
            {
                case 0x20:
                    a = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)k));
                    break;
                case 0x15:
                    pc += a == k ? jt : jf;
                    break;
                case 0x35:
                    pc += a >= k ? jt : jf;
                    break;
                case 0x45:
                    pc += (a & k) != 0 ? jt : jf;
                    break;
                case 0x05:
                    pc += (int)k;
                    break;
                case 0x06:
                    return k;
                default:
                    throw new InvalidOperationException($"unexpected BPF opcode {code:x}");
            }
        }

        throw new InvalidOperationException("BPF program did not return");
    }
}
