using System;
using Moat.Abi;
using Moat.Sentry.Kernel.Seccomp;
using static Moat.Sentry.Kernel.Seccomp.BpfInstruction;
using static Moat.Tests.Kernel.Seccomp.BpfTestPrograms;

namespace Moat.Tests.Kernel.Seccomp;

public sealed class BpfVerifierTests
{
    [Fact]
    public void Check_ValidProgram_Accepts()
    {
        Assert.Equal(Errno.None, BpfVerifier.Check(OnCall(Sysno.getppid, SeccompAbi.SECCOMP_RET_ERRNO | 1)));
    }

    [Fact]
    public void Check_EmptyOrLongerThan4096_ReturnsEINVAL()
    {
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check([]));
        var prog = new BpfInstruction[4097];
        Array.Fill(prog, RetK(0));
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check(prog));
        Assert.Equal(Errno.None, BpfVerifier.Check(prog.AsSpan(0, 4096)));
    }

    [Theory]
    [InlineData((ushort)(Ld | 0x10 | Abs), 0u)] // byte load: packet loads are not seccomp's
    [InlineData((ushort)(Ld | W | 0x40), 0u)] // indexed load
    [InlineData((ushort)(Alu | 0x90 | K_), 3u)] // MOD
    [InlineData((ushort)(Ldx | W | Abs), 0u)] // LDX ABS
    [InlineData((ushort)(Ld | W | Abs), 64u)] // past seccomp_data
    [InlineData((ushort)(Ld | W | Abs), 2u)] // unaligned
    [InlineData((ushort)(Alu | Div | K_), 0u)]
    [InlineData((ushort)(Alu | Lsh | K_), 32u)]
    [InlineData((ushort)(Alu | Rsh | K_), 32u)]
    [InlineData((ushort)St, 16u)] // scratch cell out of range
    [InlineData((ushort)0xffff, 0u)]
    public void Check_RefusedInstruction_ReturnsEINVAL(ushort code, uint k)
    {
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check([Stmt(code, k), RetK(SeccompAbi.SECCOMP_RET_ALLOW)]));
    }

    [Fact]
    public void Check_NotEndingInRet_ReturnsEINVAL()
    {
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check([Stmt(Ld | W | Abs, 0)]));
        Assert.Equal(Errno.None, BpfVerifier.Check([Stmt(Ret | A, 0)]));
    }

    [Fact]
    public void Check_JumpPastTheEnd_ReturnsEINVAL()
    {
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check([Jump(Jmp | Jeq | K_, 0, 1, 0), RetK(0)]));
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check([Jump(Jmp | Jeq | K_, 0, 0, 1), RetK(0)]));
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check([Stmt(Jmp | Ja, 1), RetK(0)]));
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check([Stmt(Jmp | Ja, uint.MaxValue), RetK(0)]));
        Assert.Equal(Errno.None, BpfVerifier.Check([Stmt(Jmp | Ja, 1), RetK(0), RetK(0)]));
    }

    [Fact]
    public void Check_ScratchCellLoadedBeforeStoreOnSomePath_ReturnsEINVAL()
    {
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check([Stmt(Ld | Mem, 3), RetK(0)]));

        // Stored only when the jump is not taken.
        BpfInstruction[] onePath =
        [
            Jump(Jmp | Jeq | K_, 1, 1, 0),
            Stmt(St, 2),
            Stmt(Ldx | Mem, 2),
            RetK(0),
        ];
        Assert.Equal(Errno.EINVAL, BpfVerifier.Check(onePath));

        BpfInstruction[] bothPaths =
        [
            Stmt(St, 2),
            Jump(Jmp | Jeq | K_, 1, 0, 0),
            Stmt(Ld | Mem, 2),
            Stmt(Ret | A, 0),
        ];
        Assert.Equal(Errno.None, BpfVerifier.Check(bothPaths));
    }

    [Fact]
    public void TranslatedLength_CountsAsLinuxEbpfTranslation()
    {
        // Prologue 3, then per instruction (measured by the seccomp_filter conformance program).
        Assert.Equal(3 + 2, BpfVerifier.TranslatedLength([RetK(0)]));
        Assert.Equal(3 + 1, BpfVerifier.TranslatedLength([Stmt(Ret | A, 0)]));
        Assert.Equal(3 + 5, BpfVerifier.TranslatedLength([Stmt(Alu | Div | X, 0)]));
        Assert.Equal(3 + 1, BpfVerifier.TranslatedLength([Jump(Jmp | Jeq | K_, 5, 1, 0)]));
        Assert.Equal(3 + 1, BpfVerifier.TranslatedLength([Jump(Jmp | Jeq | K_, 5, 0, 1)]));
        Assert.Equal(3 + 2, BpfVerifier.TranslatedLength([Jump(Jmp | Jset | K_, 5, 0, 1)]));
        Assert.Equal(3 + 2, BpfVerifier.TranslatedLength([Jump(Jmp | Jgt | X, 0, 1, 1)]));
        Assert.Equal(3 + 2, BpfVerifier.TranslatedLength([Jump(Jmp | Jeq | K_, 0x80000000, 0, 0)]));
        Assert.Equal(3 + 1, BpfVerifier.TranslatedLength([Stmt(Jmp | Ja, 0)]));
    }
}
