using System;
using Iced.Intel;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel;

/// <summary>Whether a page fault of the app was a write (userfaultfd's UFFD_PAGEFAULT_FLAG_WRITE).</summary>
internal sealed partial class Task
{
    private const long PageFaultWrite = 2; // X86_PF_WRITE

    // The platform's page-fault error code says it when it has one (systrap's signal frame); otherwise (ptrace
    // shows no frame) the faulting instruction does.
    private bool FaultIsWrite(ulong address, long faultErrorCode) =>
        faultErrorCode >= 0 ? (faultErrorCode & PageFaultWrite) != 0 : FaultingInstructionWrites(address);

    // Decodes the instruction at rip and looks for a memory operand it writes whose bytes reach the faulting
    // page (a store, a read-modify-write, the destination of movs/stos, a push or call's stack slot).
    private bool FaultingInstructionWrites(ulong address)
    {
        ulong page = MemoryManager.PageDown(address);
        ulong rip = _regs.rip;
        if (MemoryManager.PageDown(rip) == page)
        {
            return false; // fetching the instruction itself
        }

        // Read no further than the end of rip's page when the next one is the missing page: the copy would wait
        // for it.
        ulong toPageEnd = MemoryManager.PageDown(rip) + Mman.PageSize - rip;
        int want = MemoryManager.PageDown(rip) + Mman.PageSize == page ? (int)Math.Min(15UL, toPageEnd) : 15;
        byte[] code = new byte[want];
        long n = MM.CopyInPartial(rip, code);
        if (n <= 0)
        {
            return false;
        }

        var decoder = Decoder.Create(64, new ByteArrayCodeReader(code, 0, (int)n), rip);
        decoder.Decode(out Instruction instr);
        if (instr.IsInvalid)
        {
            return false;
        }

        InstructionInfo info = new InstructionInfoFactory().GetInfo(instr);
        foreach (UsedMemory m in info.GetUsedMemory())
        {
            if (m.Access is not (OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite))
            {
                continue;
            }

            if (!m.TryGetVirtualAddress(0, out ulong va, RegisterValue))
            {
                return true; // a store we cannot place: the likelier reading
            }

            ulong size = (ulong)Math.Max(1, m.MemorySize.GetSize());
            if (va <= address + Mman.PageSize && MemoryManager.PageDown(va) <= page && MemoryManager.PageDown(va + size - 1) >= page)
            {
                return true;
            }
        }

        return false;
    }

    // The app's register values for Iced's address computation: general registers (a 32-bit one when the
    // address size is 32), and the segment bases; vector registers (VSIB) are not offered.
    private bool RegisterValue(Register register, int elementIndex, int elementSize, out ulong value)
    {
        value = 0;
        switch (register.GetFullRegister())
        {
            case Register.RAX: value = _regs.rax; break;
            case Register.RBX: value = _regs.rbx; break;
            case Register.RCX: value = _regs.rcx; break;
            case Register.RDX: value = _regs.rdx; break;
            case Register.RSI: value = _regs.rsi; break;
            case Register.RDI: value = _regs.rdi; break;
            case Register.RBP: value = _regs.rbp; break;
            case Register.RSP: value = _regs.rsp; break;
            case Register.R8: value = _regs.r8; break;
            case Register.R9: value = _regs.r9; break;
            case Register.R10: value = _regs.r10; break;
            case Register.R11: value = _regs.r11; break;
            case Register.R12: value = _regs.r12; break;
            case Register.R13: value = _regs.r13; break;
            case Register.R14: value = _regs.r14; break;
            case Register.R15: value = _regs.r15; break;
            case Register.FS: value = _regs.fs_base; break;
            case Register.GS: value = _regs.gs_base; break;
            case Register.ES or Register.CS or Register.SS or Register.DS: break;
            default: return false; // a vector index (VSIB): rip-relative addresses come computed
        }

        if (register.IsGPR32())
        {
            value = (uint)value;
        }

        return true;
    }
}
