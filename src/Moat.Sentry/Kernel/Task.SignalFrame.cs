using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Signal frames on the application stack, laid out as Linux's x86-64 rt_sigframe (arch/x86/kernel/signal_64.c):
/// return address (sa_restorer), ucontext (flags, link, stack_t, sigcontext, sigset), siginfo, and below
/// them the FXSAVE image that sigcontext.fpstate points to.
/// </summary>
internal sealed partial class Task
{
    private const int FxsaveSize = 512;
    private const int UcontextOffset = 8;
    private const int McontextOffset = UcontextOffset + 40;
    private const int SigmaskOffset = UcontextOffset + 296;
    private const int SiginfoOffset = UcontextOffset + 304;
    private const int FrameSize = SiginfoOffset + SigInfo.Size;
    private const int RedZone = 128;
    private const ulong UcSigcontextSs = 2;
    private const ulong UcStrictRestoreSs = 4;
    private const int SS_ONSTACK = 1;
    private const int SS_DISABLE = 2;

    // The flags a handler may change in eflags (arch/x86/kernel/signal.c FIX_EFLAGS).
    private const ulong FixEflags = 0x50DD5;

    private void DeliverToHandler(int sig, in SigInfo info, SignalAction act)
    {
        ulong sp = _regs.rsp;
        bool onAltStack = AltStackSize != 0 && sp > AltStackBase && sp <= AltStackBase + AltStackSize;
        if ((act.Flags & SignalAction.SA_ONSTACK) != 0 && AltStackSize != 0 && !onAltStack)
        {
            sp = AltStackBase + AltStackSize;
        }
        else
        {
            sp -= RedZone;
        }

        ulong fpAddr = (sp - FxsaveSize) & ~63UL;
        ulong frame = ((fpAddr - FrameSize) & ~15UL) - 8;

        Span<byte> fx = stackalloc byte[FxsaveSize];
        bool haveFp = Context.GetFpState(MM.AddressSpace, fx) >= 0;

        Span<byte> f = stackalloc byte[FrameSize];
        f.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(f, (act.Flags & SignalAction.SA_RESTORER) != 0 ? act.Restorer : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(f[UcontextOffset..], UcSigcontextSs | UcStrictRestoreSs);
        BinaryPrimitives.WriteUInt64LittleEndian(f[(UcontextOffset + 16)..], AltStackBase);
        BinaryPrimitives.WriteInt32LittleEndian(f[(UcontextOffset + 24)..], AltStackSize == 0 ? SS_DISABLE : onAltStack ? SS_ONSTACK : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(f[(UcontextOffset + 32)..], AltStackSize);
        ulong oldMask = SavedMaskForSigsuspend ?? SignalMask;
        SavedMaskForSigsuspend = null;
        WriteSigcontext(f.Slice(McontextOffset, 256), haveFp ? fpAddr : 0, info, sig, oldMask);
        BinaryPrimitives.WriteUInt64LittleEndian(f[SigmaskOffset..], oldMask);
        MemoryMarshal.Write(f[SiginfoOffset..], in info);

        if ((haveFp && MM.CopyOut(fpAddr, fx) < 0) || MM.CopyOut(frame, f) < 0)
        {
            // No room for the frame: Linux kills the task with SIGSEGV.
            Kernel.Log.WriteLine($"moat: pid {Tid}: cannot write the {Signal.Name(sig)} frame at 0x{frame:x}; killed by SIGSEGV");
            Kernel.ExitGroup(this, ExitStatus.Killed(Signal.SIGSEGV));
            return;
        }

        _regs.rsp = frame;
        _regs.rip = act.Handler;
        _regs.rdi = (ulong)sig;
        _regs.rsi = frame + SiginfoOffset;
        _regs.rdx = frame + UcontextOffset;
        _regs.rax = 0;
        _regs.eflags &= ~(0x100UL | 0x400UL | 0x40000UL); // TF, DF, AC cleared for the handler
        _regs.orig_rax = ulong.MaxValue;

        ulong newMask = SignalMask | act.Mask;
        if ((act.Flags & SignalAction.SA_NODEFER) == 0)
        {
            newMask |= 1UL << (sig - 1);
        }

        SignalMask = newMask;
        if ((act.Flags & SignalAction.SA_RESETHAND) != 0)
        {
            Group.SignalActions[sig] = default;
        }
    }

    private void WriteSigcontext(Span<byte> sc, ulong fpAddr, in SigInfo info, int sig, ulong oldMask)
    {
        ReadOnlySpan<ulong> gprs =
        [
            _regs.r8, _regs.r9, _regs.r10, _regs.r11, _regs.r12, _regs.r13, _regs.r14, _regs.r15,
            _regs.rdi, _regs.rsi, _regs.rbp, _regs.rbx, _regs.rdx, _regs.rax, _regs.rcx, _regs.rsp, _regs.rip, _regs.eflags,
        ];
        for (int i = 0; i < gprs.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(sc[(i * 8)..], gprs[i]);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(sc[144..], (ushort)_regs.cs);
        BinaryPrimitives.WriteUInt16LittleEndian(sc[150..], (ushort)_regs.ss);
        BinaryPrimitives.WriteUInt64LittleEndian(sc[168..], oldMask);
        if (sig == Signal.SIGSEGV && info.si_code == SigInfo.SI_KERNEL && _generalProtectionError >= 0)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(sc[152..], (ulong)_generalProtectionError); // err
            BinaryPrimitives.WriteUInt64LittleEndian(sc[160..], 13); // trapno: general protection
            _generalProtectionError = -1;
        }
        else if (sig is Signal.SIGSEGV or Signal.SIGBUS)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(sc[160..], 14); // trapno: page fault
            BinaryPrimitives.WriteUInt64LittleEndian(sc[176..], info.si_addr); // cr2
        }

        BinaryPrimitives.WriteUInt64LittleEndian(sc[184..], fpAddr);
    }

    /// <summary>Implements rt_sigreturn(2): restores the registers, mask and FPU state saved in the frame.</summary>
    public long SigReturn()
    {
        ulong frame = _regs.rsp - 8;
        Span<byte> f = stackalloc byte[FrameSize];
        if (MM.CopyIn(frame, f) < 0)
        {
            Kernel.Log.WriteLine($"moat: pid {Tid}: bad signal frame at 0x{frame:x}; killed by SIGSEGV");
            Kernel.ExitGroup(this, ExitStatus.Killed(Signal.SIGSEGV));
            return 0;
        }

        byte[] sc = f.Slice(McontextOffset, 256).ToArray();
        ulong U(int off) => BinaryPrimitives.ReadUInt64LittleEndian(sc.AsSpan(off));
        _regs.r8 = U(0);
        _regs.r9 = U(8);
        _regs.r10 = U(16);
        _regs.r11 = U(24);
        _regs.r12 = U(32);
        _regs.r13 = U(40);
        _regs.r14 = U(48);
        _regs.r15 = U(56);
        _regs.rdi = U(64);
        _regs.rsi = U(72);
        _regs.rbp = U(80);
        _regs.rbx = U(88);
        _regs.rdx = U(96);
        _regs.rax = U(104);
        _regs.rcx = U(112);
        _regs.rsp = U(120);
        _regs.rip = U(128);
        _regs.eflags = (_regs.eflags & ~FixEflags) | (U(136) & FixEflags);
        _regs.orig_rax = ulong.MaxValue; // never restart what the handler interrupted a second time
        SyscallRestart = null; // as Linux: a restart_syscall after a handler ran answers EINTR

        ulong fpAddr = U(184);
        if (fpAddr != 0)
        {
            Span<byte> fx = stackalloc byte[FxsaveSize];
            if (MM.CopyIn(fpAddr, fx) < 0)
            {
                Kernel.ExitGroup(this, ExitStatus.Killed(Signal.SIGSEGV));
                return 0;
            }

            // MXCSR reserved bits would make the host refuse the whole image.
            uint mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(fx[24..]) & 0xFFFF;
            BinaryPrimitives.WriteUInt32LittleEndian(fx[24..], mxcsr);
            Context.SetFpState(MM.AddressSpace, fx);
        }

        SignalMask = BinaryPrimitives.ReadUInt64LittleEndian(f[SigmaskOffset..]);
        return (long)_regs.rax;
    }
}
