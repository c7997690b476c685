using Moat.Abi;
using Moat.Platform;

namespace Moat.Sentry.Kernel;

/// <summary>
/// <c>int 0x80</c> on a host kernel without 32-bit system calls (built without IA32 emulation, or booted with
/// <c>ia32_emulation=0</c>): the host has no gate for the vector, so the CPU raises a general-protection fault
/// and the stub stops with a SIGSEGV (SI_KERNEL) at the instruction instead of a 32-bit syscall stop. The
/// sandbox's answer must not depend on the host's build, so the fault is served as the 32-bit call it stands
/// for (docs/sentry-notes.md).
/// </summary>
internal sealed partial class Task
{
    private const ushort Int80Bytes = 0x80CD; // cd 80, read little-endian

    // Runs after a switch that ended in a SIGSEGV from the host kernel (SI_KERNEL: a #GP, not a page fault).
    private SwitchEvent OnGeneralProtectionFault(in SwitchEvent ev)
    {
        if (MM.CopyIn(_regs.rip, out ushort insn) < 0 || insn != Int80Bytes)
        {
            return ev;
        }

        // As a host with the gate shows it: past the instruction, the i386 number (eax, zero-extended) in orig_rax.
        _regs.rip += 2;
        _regs.orig_rax = (uint)_regs.rax;
        _regs.rax = unchecked((ulong)-Errno.ENOSYS.Value);
        return new SwitchEvent(SwitchEventKind.Syscall32, default);
    }
}
