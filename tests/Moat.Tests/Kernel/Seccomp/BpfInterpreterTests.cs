using Moat.Abi;
using Moat.Sentry.Kernel.Seccomp;
using static Moat.Sentry.Kernel.Seccomp.BpfInstruction;
using static Moat.Tests.Kernel.Seccomp.BpfTestPrograms;

namespace Moat.Tests.Kernel.Seccomp;

public sealed class BpfInterpreterTests
{
    [Fact]
    public void Run_OnCall_MatchesOnlyThatNumber()
    {
        BpfInstruction[] prog = OnCall(Sysno.getppid, SeccompAbi.SECCOMP_RET_ERRNO | 18);
        Assert.Equal(SeccompAbi.SECCOMP_RET_ERRNO | 18, BpfInterpreter.Run(prog, Call(Sysno.getppid)));
        Assert.Equal(SeccompAbi.SECCOMP_RET_ALLOW, BpfInterpreter.Run(prog, Call(Sysno.getpid)));
    }

    [Fact]
    public void Run_LoadsEveryWordOfSeccompData()
    {
        var data = new SeccompData(-1, SeccompAbi.AUDIT_ARCH_X86_64, 0x1122334455667788, 1, 2, 3, 4, 5, 0xaabbccdd_00000006);
        uint[] expected = [0xffffffff, 0xc000003e, 0x55667788, 0x11223344, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0xaabbccdd];
        for (uint i = 0; i < 16; i++)
        {
            Assert.Equal(expected[i], BpfInterpreter.Run([Stmt(Ld | W | Abs, i * 4), Stmt(Ret | A, 0)], data));
        }
    }

    [Fact]
    public void Run_Arithmetic_IsUnsigned32Bit()
    {
        BpfInstruction[] prog =
        [
            Stmt(Ld | Imm, 5),
            Stmt(Alu | Sub | K_, 7), // wraps
            Stmt(Misc | Tax, 0),
            Stmt(Ld | W | Len, 0), // 64
            Stmt(Alu | Add | X, 0), // 64 + 0xfffffffe = 62
            Stmt(Alu | Mul | K_, 3), // 186
            Stmt(Alu | Div | K_, 4), // 46
            Stmt(Alu | Lsh | K_, 4), // 736
            Stmt(Alu | Or | K_, 1), // 737
            Stmt(Alu | Xor | K_, 0x10), // 753
            Stmt(Alu | And | K_, 0xff0), // 752
            Stmt(Alu | Rsh | K_, 4), // 47
            Stmt(St, 5),
            Stmt(Ldx | Imm, 33),
            Stmt(Alu | Lsh | X, 0), // count masked to 1: 94
            Stmt(Alu | Neg, 0),
            Stmt(Alu | Neg, 0),
            Stmt(Ldx | Mem, 5),
            Stmt(Alu | Sub | X, 0), // 47
            Stmt(Ret | A, 0),
        ];
        Assert.Equal(Errno.None, BpfVerifier.Check(prog));
        Assert.Equal(47u, BpfInterpreter.Run(prog, Call(0)));
    }

    [Fact]
    public void Run_DivisionByXZero_Returns0()
    {
        BpfInstruction[] prog = [Stmt(Ld | Imm, 9), Stmt(Alu | Div | X, 0), RetK(SeccompAbi.SECCOMP_RET_ALLOW)];
        Assert.Equal(0u, BpfInterpreter.Run(prog, Call(0)));
    }

    [Fact]
    public void Run_Jumps_TakeTheirBranches()
    {
        // A = arg0: 3 if above 10, else 4 if bit 1 is set, else 5 if at least 2 (through a JA), else 0.
        BpfInstruction[] prog =
        [
            Stmt(Ld | W | Abs, 16),
            Jump(Jmp | Jgt | K_, 10, 0, 1),
            RetK(3),
            Jump(Jmp | Jset | K_, 2, 0, 1),
            RetK(4),
            Stmt(Ldx | Imm, 2),
            Jump(Jmp | Jge | X, 0, 0, 1),
            Stmt(Jmp | Ja, 1),
            RetK(0),
            RetK(5),
        ];
        Assert.Equal(Errno.None, BpfVerifier.Check(prog));
        Assert.Equal(3u, BpfInterpreter.Run(prog, Call(0, a0: 11)));
        Assert.Equal(4u, BpfInterpreter.Run(prog, Call(0, a0: 2)));
        Assert.Equal(5u, BpfInterpreter.Run(prog, Call(0, a0: 4)));
        Assert.Equal(0u, BpfInterpreter.Run(prog, Call(0, a0: 1)));
    }

    [Fact]
    public void Run_AllocatesNothing()
    {
        BpfInstruction[] prog = OnCall(Sysno.getppid, SeccompAbi.SECCOMP_RET_ERRNO | 1);
        SeccompData data = Call(Sysno.getpid);
        BpfInterpreter.Run(prog, data);
        long before = System.GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            BpfInterpreter.Run(prog, data);
        }

        Assert.Equal(before, System.GC.GetAllocatedBytesForCurrentThread());
    }
}
