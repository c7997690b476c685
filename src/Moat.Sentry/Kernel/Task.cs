using System;
using Moat.Abi;
using Moat.Platform;
using Moat.Sentry.Mm;
using Moat.Sentry.Syscalls.Linux;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Kernel;

/// <summary>
/// A thread of the application: its registers, its memory, its files, and the loop that runs it on the
/// platform and serves what comes back (syscalls, faults, signals).
/// Invariants: all fields are owned by the task's own host thread unless they say otherwise.
/// </summary>
internal sealed partial class Task
{
    private PtraceRegs _regs;

    public Task(Kernel kernel, ThreadGroup group, int tid, MemoryManager mm, FdTable fds, IContext context, Credentials creds)
    {
        Kernel = kernel;
        Group = group;
        Tid = tid;
        MM = mm;
        Fds = fds;
        Context = context;
        Credentials = creds;
    }

    public Kernel Kernel { get; }

    public ThreadGroup Group { get; }

    public int Tid { get; }

    public MemoryManager MM { get; }

    public FdTable Fds { get; }

    public IContext Context { get; }

    public Credentials Credentials { get; set; }

    /// <summary>The application's general registers while the Sentry serves it.</summary>
    public ref PtraceRegs Registers => ref _regs;

    /// <summary>set_tid_address(2)'s pointer, cleared and futex-woken when the thread exits.</summary>
    public ulong ClearChildTid { get; set; }

    /// <summary>set_robust_list(2)'s head and length.</summary>
    public ulong RobustListHead { get; set; }

    /// <summary>The signal mask (bit n-1 for signal n).</summary>
    public ulong SignalMask { get; set; }

    /// <summary>sigaltstack(2)'s stack, or 0 size when disabled.</summary>
    public ulong AltStackBase { get; set; }

    public ulong AltStackSize { get; set; }

    /// <summary>The registered rseq area, or 0.</summary>
    public ulong RseqAddress { get; set; }

    public uint RseqLength { get; set; }

    public uint RseqSignature { get; set; }

    /// <summary>Set when the task must stop running app code.</summary>
    public ExitStatus? Exit { get; private set; }

    /// <summary>Runs the task until it exits. Returns how it exited.</summary>
    public ExitStatus Run()
    {
        while (Exit == null)
        {
            SwitchEvent ev = Context.Switch(MM.AddressSpace, ref _regs);
            switch (ev.Kind)
            {
                case SwitchEventKind.Syscall:
                    DoSyscall();
                    break;
                case SwitchEventKind.Signal:
                    HandleHostSignal(ev.Info);
                    break;
                case SwitchEventKind.Interrupted:
                    break;
                case SwitchEventKind.AddressSpaceLost:
                    Kernel.Log.WriteLine($"moat: the host process running pid {Tid} died; killing the task");
                    Exit = ExitStatus.Killed(Signal.SIGKILL);
                    break;
            }
        }

        return Exit.Value;
    }

    /// <summary>Ends the task (exit, exit_group, fatal signal) once the current syscall returns.</summary>
    public void RequestExit(ExitStatus status) => Exit ??= status;

    private void DoSyscall()
    {
        int nr = (int)(long)_regs.orig_rax;
        var args = new SyscallArgs(_regs);
        long result;
        if (Kernel.Strace)
        {
            Strace.StraceLog.Enter(this, nr, args);
            result = InvokeSyscall(nr, args);
            Strace.StraceLog.Exit(this, nr, args, result);
        }
        else
        {
            result = InvokeSyscall(nr, args);
        }

        if (Exit == null)
        {
            _regs.rax = (ulong)result;
        }
    }

    private long InvokeSyscall(int nr, in SyscallArgs args)
    {
        try
        {
            return SyscallTable.Invoke(this, nr, args);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A Sentry bug: fail this call cleanly and say which syscall caused it.
            Kernel.Log.WriteLine($"moat: internal error in {Sysno.Name(nr)} (pid {Tid}): {e}");
            return -Errno.EFAULT.Value;
        }
    }
}
