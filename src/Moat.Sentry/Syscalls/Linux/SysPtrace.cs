using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>ptrace(2): decoding of the requests; the stops and links are the kernel's (Task.Ptrace.cs, Kernel.Ptrace.cs).</summary>
internal static class SysPtrace
{
    // The options Moat serves: every one but the seccomp ones (no PTRACE_EVENT_SECCOMP stops).
    private const int ServedOptions = PtraceAbi.PTRACE_O_TRACESYSGOOD | PtraceAbi.PTRACE_O_TRACEFORK | PtraceAbi.PTRACE_O_TRACEVFORK |
        PtraceAbi.PTRACE_O_TRACECLONE | PtraceAbi.PTRACE_O_TRACEEXEC | PtraceAbi.PTRACE_O_TRACEVFORKDONE | PtraceAbi.PTRACE_O_TRACEEXIT |
        PtraceAbi.PTRACE_O_EXITKILL;

    private const int XstateSize = 576;
    private const int XcrOffset = 464;
    private const uint AuditArchX86_64 = 0xC000003E;

    /// <summary>Implements ptrace(2).</summary>
    public static long Ptrace(Task t, in SyscallArgs a)
    {
        long request = (long)a[0];
        int pid = a.Int(1);
        ulong addr = a[2];
        ulong data = a[3];
        Kernel.Kernel k = t.Kernel;
        if (request == PtraceAbi.PTRACE_TRACEME)
        {
            return k.PtraceTraceMe(t);
        }

        Task? target = k.FindTask(t.PidNs, pid);
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        if (request is PtraceAbi.PTRACE_ATTACH or PtraceAbi.PTRACE_SEIZE)
        {
            int options = 0;
            if (request == PtraceAbi.PTRACE_SEIZE)
            {
                if (addr != 0)
                {
                    return -Errno.EIO.Value;
                }

                long r = CheckOptions(data);
                if (r < 0)
                {
                    return r;
                }

                options = (int)data;
            }

            return k.PtraceAttach(t, target, request == PtraceAbi.PTRACE_SEIZE, options);
        }

        // Linux's ptrace_check_attach: the caller is the tracer; most requests also need the tracee stopped.
        bool anyState = request is PtraceAbi.PTRACE_KILL or PtraceAbi.PTRACE_INTERRUPT;
        lock (k.TreeMu)
        {
            if (target.Tracer != t || (!anyState && !target.PtraceStoppedLocked))
            {
                return -Errno.ESRCH.Value;
            }
        }

        switch (request)
        {
            case PtraceAbi.PTRACE_PEEKTEXT or PtraceAbi.PTRACE_PEEKDATA:
            {
                if (target.MM.CopyIn(addr, out ulong word) < 0)
                {
                    return -Errno.EIO.Value;
                }

                return t.MM.CopyOut(data, word) < 0 ? -Errno.EFAULT.Value : 0;
            }

            case PtraceAbi.PTRACE_POKETEXT or PtraceAbi.PTRACE_POKEDATA:
            {
                // As Linux's FOLL_FORCE: protection is ignored, and a private file page is copied first.
                return target.PtracePoke(addr, data);
            }

            case PtraceAbi.PTRACE_PEEKUSR:
                if ((addr & 7) != 0 || addr >= PtraceAbi.UserSize)
                {
                    return -Errno.EIO.Value;
                }

                return t.MM.CopyOut(data, PtraceUserArea.Peek(target, (int)addr)) < 0 ? -Errno.EFAULT.Value : 0;
            case PtraceAbi.PTRACE_POKEUSR:
                if ((addr & 7) != 0 || addr >= PtraceAbi.UserSize)
                {
                    return -Errno.EIO.Value;
                }

                return -PtraceUserArea.Poke(target, (int)addr, data).Value;
            case PtraceAbi.PTRACE_GETREGS:
                return t.MM.CopyOut(data, target.Registers) < 0 ? -Errno.EFAULT.Value : 0;
            case PtraceAbi.PTRACE_SETREGS:
            {
                if (t.MM.CopyIn(data, out PtraceRegs regs) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                return -PtraceUserArea.SetAll(target, regs).Value;
            }

            case PtraceAbi.PTRACE_GETFPREGS:
                return t.MM.CopyOut(data, target.PtraceFpState) < 0 ? -Errno.EFAULT.Value : 0;
            case PtraceAbi.PTRACE_SETFPREGS:
                return SetFpState(t, target, data, 512);
            case PtraceAbi.PTRACE_GETREGSET or PtraceAbi.PTRACE_SETREGSET:
                return RegSet(t, target, (int)addr, data, request == PtraceAbi.PTRACE_SETREGSET);
            case PtraceAbi.PTRACE_GETSIGINFO:
            {
                if (target.PtraceSigInfo is not SigInfo info)
                {
                    return -Errno.EINVAL.Value;
                }

                return t.MM.CopyOut(data, info) < 0 ? -Errno.EFAULT.Value : 0;
            }

            case PtraceAbi.PTRACE_SETSIGINFO:
            {
                if (t.MM.CopyIn(data, out SigInfo info) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                if (target.PtraceSigInfo == null)
                {
                    return -Errno.EINVAL.Value;
                }

                target.PtraceSigInfo = info;
                target.PtraceSigInfoAfterStop = info;
                return 0;
            }

            case PtraceAbi.PTRACE_GETEVENTMSG:
                return t.MM.CopyOut(data, target.PtraceEventMessage) < 0 ? -Errno.EFAULT.Value : 0;
            case PtraceAbi.PTRACE_SETOPTIONS:
            {
                long r = CheckOptions(data);
                if (r < 0)
                {
                    return r;
                }

                lock (k.TreeMu)
                {
                    target.PtraceOptions = (int)data;
                }

                return 0;
            }

            case PtraceAbi.PTRACE_CONT or PtraceAbi.PTRACE_SYSCALL or PtraceAbi.PTRACE_SINGLESTEP or PtraceAbi.PTRACE_LISTEN or PtraceAbi.PTRACE_DETACH:
                return Resume(t, target, (int)request, data);
            case PtraceAbi.PTRACE_KILL:
                target.SendSignal(Signal.SIGKILL);
                return 0;
            case PtraceAbi.PTRACE_INTERRUPT:
                lock (k.TreeMu)
                {
                    if (!target.PtraceSeized)
                    {
                        return -Errno.EIO.Value;
                    }
                }

                target.PtraceInterrupt();
                return 0;
            case PtraceAbi.PTRACE_GET_SYSCALL_INFO:
                return SyscallInfo(t, target, addr, data);
            default:
                return -Errno.EIO.Value;
        }
    }

    private static long CheckOptions(ulong data) =>
        (data & ~(ulong)ServedOptions) != 0 ? -Errno.EINVAL.Value : 0;

    private static long Resume(Task t, Task target, int request, ulong data)
    {
        if (data > Signal.SIGRTMAX)
        {
            return -Errno.EIO.Value;
        }

        lock (t.Kernel.TreeMu)
        {
            if (target.Tracer != t || !target.PtraceStoppedLocked)
            {
                return -Errno.ESRCH.Value;
            }

            if (request == PtraceAbi.PTRACE_DETACH)
            {
                target.PtraceUnlinkLocked((int)data);
                return 0;
            }

            if (request == PtraceAbi.PTRACE_LISTEN && (!target.PtraceSeized || !target.InGroupStopLocked))
            {
                return -Errno.EIO.Value;
            }

            target.PtraceResumeLocked(request, (int)data);
            return 0;
        }
    }

    // FXSAVE image in; MXCSR's reserved bits are cleared as Linux does, so the restore cannot fault.
    private static long SetFpState(Task t, Task target, ulong addr, int length)
    {
        Span<byte> fx = stackalloc byte[512];
        target.PtraceFpState.CopyTo(fx);
        if (t.MM.CopyIn(addr, fx[..length]) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        uint mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(fx[24..]);
        BinaryPrimitives.WriteUInt32LittleEndian(fx[24..], mxcsr & 0xFFFF);
        fx.CopyTo(target.PtraceFpState);
        target.PtraceFpStateChanged();
        return 0;
    }

    // PTRACE_GETREGSET/SETREGSET with a struct iovec: the general registers, the FXSAVE area, or an XSAVE
    // area that holds the x87/SSE state only (XCR0 = 3 in its software bytes), the state the sandbox keeps.
    private static long RegSet(Task t, Task target, int type, ulong iovAddr, bool set)
    {
        if (t.MM.CopyIn(iovAddr, out ulong iovBase) < 0 || t.MM.CopyIn(iovAddr + 8, out ulong iovLen) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        Span<byte> buf = stackalloc byte[XstateSize];
        buf.Clear();
        int size;
        switch (type)
        {
            case PtraceAbi.NT_PRSTATUS:
                size = PtraceRegs.Size;
                MemoryMarshal.Write(buf, in target.Registers);
                break;
            case PtraceAbi.NT_PRFPREG:
                size = 512;
                target.PtraceFpState.CopyTo(buf);
                break;
            case PtraceAbi.NT_X86_XSTATE:
                size = XstateSize;
                target.PtraceFpState.CopyTo(buf);
                BinaryPrimitives.WriteUInt64LittleEndian(buf[XcrOffset..], 3);
                BinaryPrimitives.WriteUInt64LittleEndian(buf[512..], 3);
                break;
            default:
                return -Errno.EINVAL.Value;
        }

        int n = (int)Math.Min(iovLen, (ulong)size);
        if (!set)
        {
            if (t.MM.CopyOut(iovBase, buf[..n]) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }
        else if (type == PtraceAbi.NT_PRSTATUS)
        {
            // Linux sets the registers the buffer covers; the rest keep their values.
            if (t.MM.CopyIn(iovBase, buf[..n]) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            Errno e = PtraceUserArea.SetAll(target, MemoryMarshal.Read<PtraceRegs>(buf));
            if (e.Value != 0)
            {
                return -e.Value;
            }
        }
        else
        {
            long r = SetFpState(t, target, iovBase, Math.Min(n, 512));
            if (r < 0)
            {
                return r;
            }
        }

        return t.MM.CopyOut(iovAddr + 8, (ulong)n) < 0 ? -Errno.EFAULT.Value : 0;
    }

    // struct ptrace_syscall_info: the header (op, arch, ip, sp), then the entry's number and arguments or the
    // exit's value. Entry and exit are told only at a TRACESYSGOOD syscall stop, as in Linux.
    private static long SyscallInfo(Task t, Task target, ulong userSize, ulong addr)
    {
        Span<byte> info = stackalloc byte[80];
        info.Clear();
        ref PtraceRegs regs = ref target.Registers;
        byte op = target.PtraceSigInfo is SigInfo si && si.si_code == (Signal.SIGTRAP | 0x80) ? target.PtraceSyscallOp : PtraceAbi.PTRACE_SYSCALL_INFO_NONE;
        info[0] = op;
        BinaryPrimitives.WriteUInt32LittleEndian(info[4..], AuditArchX86_64);
        BinaryPrimitives.WriteUInt64LittleEndian(info[8..], regs.rip);
        BinaryPrimitives.WriteUInt64LittleEndian(info[16..], regs.rsp);
        int size = 24;
        if (op == PtraceAbi.PTRACE_SYSCALL_INFO_ENTRY)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(info[24..], regs.orig_rax);
            BinaryPrimitives.WriteUInt64LittleEndian(info[32..], regs.rdi);
            BinaryPrimitives.WriteUInt64LittleEndian(info[40..], regs.rsi);
            BinaryPrimitives.WriteUInt64LittleEndian(info[48..], regs.rdx);
            BinaryPrimitives.WriteUInt64LittleEndian(info[56..], regs.r10);
            BinaryPrimitives.WriteUInt64LittleEndian(info[64..], regs.r8);
            BinaryPrimitives.WriteUInt64LittleEndian(info[72..], regs.r9);
            size = 80;
        }
        else if (op == PtraceAbi.PTRACE_SYSCALL_INFO_EXIT)
        {
            long rval = (long)regs.rax;
            BinaryPrimitives.WriteInt64LittleEndian(info[24..], rval);
            info[32] = (byte)(rval is >= -4095 and < 0 ? 1 : 0);
            size = 33;
        }

        int n = (int)Math.Min(userSize, (ulong)size);
        return t.MM.CopyOut(addr, info[..n]) < 0 ? -Errno.EFAULT.Value : size;
    }
}
