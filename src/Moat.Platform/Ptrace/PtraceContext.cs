using Moat.Abi;
using Moat.Host;

namespace Moat.Platform.Ptrace;

/// <summary>
/// Runs a task's registers on its own stub thread under PTRACE_SYSEMU: the app's syscalls stop before the
/// host executes them, and are never executed by the host.
/// Invariants: Attach, Switch, Detach and the FP-state calls run on the task's host thread (the tracer).
/// </summary>
internal sealed class PtraceContext : IContext
{
    private const int SyscallStop = Signal.SIGTRAP | 0x80;

    // si_code of a seccomp SIGSYS, and the x86-64 vsyscall page.
    private const int SysSeccomp = 1;
    private const ulong VsyscallPage = 0xFFFF_FFFF_FF60_0000;

    private PtraceAddressSpace? _space;
    private PtraceAddressSpace.StubThread? _thread;

    // Read by Interrupt() from other threads.
    private volatile int _kickPid;
    private volatile int _kickTid;
    private volatile bool _interruptPending;
    private int _pinnedCpu = -1;

    // The stub thread's CPU clock; frozen at Detach. Read from any thread.
    private volatile StubCpuClock? _cpu;

    public long Attach(IAddressSpace addressSpace, object? token)
    {
        var space = (PtraceAddressSpace)addressSpace;
        long r = space.Attach(token, out PtraceAddressSpace.StubThread? thread);
        if (r < 0)
        {
            return r;
        }

        _space = space;
        _thread = thread;
        _kickPid = space.Pid;
        _kickTid = thread!.Tid;
        _pinnedCpu = CpuPinning.PinPair(thread.Tid);
        _cpu = StubCpuClock.ForThread(space.Pid, thread.Tid);
        return 0;
    }

    public void Detach(IAddressSpace addressSpace)
    {
        if (_space == addressSpace)
        {
            CpuPinning.Unpin(_pinnedCpu);
            _pinnedCpu = -1;
            _kickTid = 0;
            _cpu?.Dispose();
            _space.Detach();
            _space = null;
            _thread = null;
        }
    }

    public long ThreadCpuRuntimeNs() => _cpu?.RuntimeNs() ?? 0;

    public (long User, long System) ThreadCpuTime() => _cpu?.Times() ?? (0, 0);

    public SwitchEvent Switch(IAddressSpace addressSpace, ref PtraceRegs regs)
    {
        if (_space != addressSpace || _thread == null)
        {
            // Not attached to this address space: nothing can run.
            return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
        }

        int tid = _thread.Tid;
        if (_interruptPending)
        {
            _interruptPending = false;
            return new SwitchEvent(SwitchEventKind.Interrupted, default);
        }

        if (HostPtrace.SetRegs(tid, regs) < 0 || HostPtrace.Sysemu(tid, 0) < 0)
        {
            return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
        }

        while (true)
        {
            int w = HostProcess.WaitPid(tid, out int status, HostProcess.__WALL);
            if (w < 0 || !HostProcess.WIfStopped(status))
            {
                return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
            }

            int sig = HostProcess.WStopSig(status);
            if (HostPtrace.GetRegs(tid, out regs) < 0)
            {
                return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
            }

            if (sig == SyscallStop)
            {
                // The syscall instruction always leaves the return address in rcx; int 0x80 and sysenter (the
                // 32-bit entries) do not. An app that sets rcx itself before int 0x80 gets its i386 call served
                // as the x86-64 call of that number, which it could have made anyway.
                return new SwitchEvent(regs.rcx == regs.rip ? SwitchEventKind.Syscall : SwitchEventKind.Syscall32, default);
            }

            if ((status >> 16) == HostPtrace.PTRACE_EVENT_STOP)
            {
                // A group-stop or PTRACE_INTERRUPT trap: nothing of the app's.
                HostPtrace.Sysemu(tid, 0);
                continue;
            }

            if (HostPtrace.GetSigInfo(tid, out SigInfo info) < 0)
            {
                return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
            }

            if (sig == Signal.SIGCHLD && info.si_code <= 0 && info.si_pid == HostProcess.GetPid())
            {
                // Our own kick from Interrupt().
                _interruptPending = false;
                return new SwitchEvent(SwitchEventKind.Interrupted, default);
            }

            if (sig == Signal.SIGSYS && info.si_code == SysSeccomp && info.si_addr - VsyscallPage < 0x1000)
            {
                // A call into the vsyscall page (gettimeofday, time, getcpu of old static binaries). The host
                // emulated it up to its seccomp check, where the stub's filter trapped it, after the host had
                // already emulated the page's ret (rip is the caller, rsp popped). Serve it as that syscall.
                regs.orig_rax = (ulong)info.si_status; // si_syscall
                regs.rax = unchecked((ulong)-Errno.ENOSYS.Value);
                return new SwitchEvent(SwitchEventKind.Vsyscall, info);
            }

            return new SwitchEvent(SwitchEventKind.Signal, info);
        }
    }

    public unsafe long GetFpState(IAddressSpace addressSpace, System.Span<byte> fxsave)
    {
        if (_thread == null)
        {
            return -Errno.ESRCH.Value;
        }

        fixed (byte* p = fxsave)
        {
            return HostPtrace.GetFpRegs(_thread.Tid, p);
        }
    }

    public unsafe long SetFpState(IAddressSpace addressSpace, System.ReadOnlySpan<byte> fxsave)
    {
        if (_thread == null)
        {
            return -Errno.ESRCH.Value;
        }

        fixed (byte* p = fxsave)
        {
            return HostPtrace.SetFpRegs(_thread.Tid, p);
        }
    }

    public void Interrupt()
    {
        _interruptPending = true;
        int pid = _kickPid;
        int tid = _kickTid;
        if (tid > 0)
        {
            // Kick exactly our stub thread: a process-wide signal could land on another task's thread.
            HostProcess.Syscall(Sysno.tgkill, pid, tid, Signal.SIGCHLD);
        }
    }

    public void Dispose()
    {
        CpuPinning.Unpin(_pinnedCpu);
        _pinnedCpu = -1;
        _cpu?.Dispose();
    }
}
