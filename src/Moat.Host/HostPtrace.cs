using Moat.Abi;

namespace Moat.Host;

/// <summary>ptrace(2) requests Moat uses. Every call must come from the thread that seized the tracee.</summary>
public static unsafe class HostPtrace
{
    public const int PTRACE_PEEKDATA = 2;
    public const int PTRACE_CONT = 7;
    public const int PTRACE_KILL = 8;
    public const int PTRACE_GETREGS = 12;
    public const int PTRACE_SETREGS = 13;
    public const int PTRACE_GETFPREGS = 14;
    public const int PTRACE_SETFPREGS = 15;
    public const int PTRACE_DETACH = 17;
    public const int PTRACE_SYSEMU = 31;
    public const int PTRACE_SETOPTIONS = 0x4200;
    public const int PTRACE_GETSIGINFO = 0x4202;
    public const int PTRACE_GETREGSET = 0x4204;
    public const int PTRACE_SETREGSET = 0x4205;
    public const int PTRACE_SEIZE = 0x4206;
    public const int PTRACE_INTERRUPT = 0x4207;

    public const int PTRACE_O_TRACESYSGOOD = 0x1;
    public const int PTRACE_O_EXITKILL = 0x100000;

    public const int PTRACE_EVENT_STOP = 128;

    public static long Seize(int pid, int options) =>
        HostResult.FromLong(Interop.Libc.ptrace(PTRACE_SEIZE, pid, 0, options));

    public static long Interrupt(int pid) =>
        HostResult.FromLong(Interop.Libc.ptrace(PTRACE_INTERRUPT, pid, 0, 0));

    /// <summary>Reads the word at <paramref name="addr"/> of a stopped tracee (the raw call stores it at the data pointer).</summary>
    public static long PeekData(int pid, ulong addr, out long word)
    {
        long w = 0;
        long r = HostProcess.Syscall(Abi.Sysno.ptrace, PTRACE_PEEKDATA, pid, (long)addr, (long)&w);
        word = w;
        return r;
    }

    public static long Detach(int pid) =>
        HostResult.FromLong(Interop.Libc.ptrace(PTRACE_DETACH, pid, 0, 0));

    public static long Cont(int pid, int signal) =>
        HostResult.FromLong(Interop.Libc.ptrace(PTRACE_CONT, pid, 0, signal));

    public static long Sysemu(int pid, int signal) =>
        HostResult.FromLong(Interop.Libc.ptrace(PTRACE_SYSEMU, pid, 0, signal));

    public static long GetRegs(int pid, out PtraceRegs regs)
    {
        fixed (PtraceRegs* p = &regs)
        {
            return HostResult.FromLong(Interop.Libc.ptrace(PTRACE_GETREGS, pid, 0, (nint)p));
        }
    }

    public static long SetRegs(int pid, in PtraceRegs regs)
    {
        fixed (PtraceRegs* p = &regs)
        {
            return HostResult.FromLong(Interop.Libc.ptrace(PTRACE_SETREGS, pid, 0, (nint)p));
        }
    }

    /// <summary>PTRACE_GETFPREGS: the 512-byte FXSAVE image.</summary>
    public static long GetFpRegs(int pid, byte* fxsave) =>
        HostResult.FromLong(Interop.Libc.ptrace(PTRACE_GETFPREGS, pid, 0, (nint)fxsave));

    /// <summary>PTRACE_SETFPREGS from a 512-byte FXSAVE image.</summary>
    public static long SetFpRegs(int pid, byte* fxsave) =>
        HostResult.FromLong(Interop.Libc.ptrace(PTRACE_SETFPREGS, pid, 0, (nint)fxsave));

    public static long GetSigInfo(int pid, out SigInfo info)
    {
        fixed (SigInfo* p = &info)
        {
            return HostResult.FromLong(Interop.Libc.ptrace(PTRACE_GETSIGINFO, pid, 0, (nint)p));
        }
    }
}
