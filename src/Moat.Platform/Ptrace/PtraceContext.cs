using Moat.Abi;
using Moat.Host;

namespace Moat.Platform.Ptrace;

/// <summary>
/// Runs a task's registers on the stub thread of an address space under PTRACE_SYSEMU: the app's syscalls
/// stop before the host executes them, and are never executed by the host.
/// </summary>
internal sealed class PtraceContext : IContext
{
    private const int SyscallStop = Signal.SIGTRAP | 0x80;

    private volatile int _interruptTarget;
    private volatile bool _interruptPending;

    public SwitchEvent Switch(IAddressSpace addressSpace, ref PtraceRegs regs)
    {
        var space = (PtraceAddressSpace)addressSpace;
        int pid = space.Pid;
        _interruptTarget = pid;
        if (_interruptPending)
        {
            _interruptPending = false;
            return new SwitchEvent(SwitchEventKind.Interrupted, default);
        }

        if (HostPtrace.SetRegs(pid, regs) < 0 || HostPtrace.Sysemu(pid, 0) < 0)
        {
            return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
        }

        while (true)
        {
            int w = HostProcess.WaitPid(pid, out int status, HostProcess.__WALL);
            if (w < 0 || !HostProcess.WIfStopped(status))
            {
                return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
            }

            int sig = HostProcess.WStopSig(status);
            if (HostPtrace.GetRegs(pid, out regs) < 0)
            {
                return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
            }

            if (sig == SyscallStop)
            {
                return new SwitchEvent(SwitchEventKind.Syscall, default);
            }

            if ((status >> 16) == HostPtrace.PTRACE_EVENT_STOP)
            {
                // A group-stop or PTRACE_INTERRUPT trap: nothing of the app's.
                HostPtrace.Sysemu(pid, 0);
                continue;
            }

            if (HostPtrace.GetSigInfo(pid, out SigInfo info) < 0)
            {
                return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
            }

            if (sig == Signal.SIGCHLD && info.si_code <= 0 && info.si_pid == HostProcess.GetPid())
            {
                // Our own kick from Interrupt().
                _interruptPending = false;
                return new SwitchEvent(SwitchEventKind.Interrupted, default);
            }

            return new SwitchEvent(SwitchEventKind.Signal, info);
        }
    }

    public unsafe long GetFpState(IAddressSpace addressSpace, System.Span<byte> fxsave)
    {
        fixed (byte* p = fxsave)
        {
            return HostPtrace.GetFpRegs(((PtraceAddressSpace)addressSpace).Pid, p);
        }
    }

    public unsafe long SetFpState(IAddressSpace addressSpace, System.ReadOnlySpan<byte> fxsave)
    {
        fixed (byte* p = fxsave)
        {
            return HostPtrace.SetFpRegs(((PtraceAddressSpace)addressSpace).Pid, p);
        }
    }

    public void Interrupt()
    {
        _interruptPending = true;
        int target = _interruptTarget;
        if (target > 0)
        {
            HostProcess.Kill(target, Signal.SIGCHLD);
        }
    }

    public void Dispose()
    {
    }
}
