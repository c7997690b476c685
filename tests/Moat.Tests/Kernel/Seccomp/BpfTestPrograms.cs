using Moat.Abi;
using Moat.Sentry.Kernel.Seccomp;
using static Moat.Sentry.Kernel.Seccomp.BpfInstruction;

namespace Moat.Tests.Kernel.Seccomp;

/// <summary>Small seccomp programs the tests share.</summary>
internal static class BpfTestPrograms
{
    public static BpfInstruction RetK(uint k) => Stmt(Ret | K_, k);

    /// <summary>Answers <paramref name="ret"/> for call <paramref name="nr"/> and ALLOW for any other.</summary>
    public static BpfInstruction[] OnCall(int nr, uint ret) =>
    [
        Stmt(Ld | W | Abs, 0),
        Jump(Jmp | Jeq | K_, (uint)nr, 0, 1),
        RetK(ret),
        RetK(SeccompAbi.SECCOMP_RET_ALLOW),
    ];

    public static SeccompData Call(int nr, ulong a0 = 0, ulong a1 = 0, ulong a5 = 0, uint arch = SeccompAbi.AUDIT_ARCH_X86_64, ulong ip = 0x401000) =>
        new(nr, arch, ip, a0, a1, 0, 0, 0, a5);
}
