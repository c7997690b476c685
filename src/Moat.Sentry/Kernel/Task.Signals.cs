using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>Signals that reach the task from the platform, and their default actions.</summary>
internal sealed partial class Task
{
    private void HandleHostSignal(in SigInfo info)
    {
        int sig = info.si_signo;
        bool fromKernel = info.si_code > 0;
        if (!fromKernel)
        {
            // Sent to the stub by some other host process: nothing of the app's. Ignore it.
            return;
        }

        if (sig == Signal.SIGSEGV)
        {
            int code = MM.HandleFault(info.si_addr, info.si_code == SigInfo.SEGV_ACCERR);
            if (code == 0)
            {
                return;
            }

            if (code < 0)
            {
                DeliverSynchronous(-code, SigInfo.SI_KERNEL, info.si_addr);
                return;
            }

            DeliverSynchronous(Signal.SIGSEGV, code, info.si_addr);
            return;
        }

        DeliverSynchronous(sig, info.si_code, info.si_addr);
    }

    /// <summary>Delivers a signal caused by the app's own instruction (fault, trap, bad opcode).</summary>
    private void DeliverSynchronous(int sig, int code, ulong addr)
    {
        SignalAction act = Group.SignalActions[sig];
        if (act.Handler != SignalAction.SIG_DFL && act.Handler != SignalAction.SIG_IGN)
        {
            Kernel.Log.WriteLine($"moat: pid {Tid} has a handler for {Signal.Name(sig)}, but signal delivery is not implemented yet; applying the default action");
        }

        // A synchronous signal cannot be ignored or blocked: Linux forces the default action.
        Kernel.Log.WriteLine($"moat: pid {Tid} ({Group.ExecutablePath}) killed by {Signal.Name(sig)} ({DescribeCode(sig, code)} at 0x{addr:x}, rip 0x{_regs.rip:x})");
        // Moat writes no core files, so the status never carries the core-dump flag.
        RequestExit(ExitStatus.Killed(sig));
    }

    /// <summary>Signals sent to this task and blocked by its mask (bit n-1 for signal n).</summary>
    public ulong PendingSignals { get; private set; }

    /// <summary>
    /// Sends <paramref name="sig"/> to this task from inside the sandbox (kill, tgkill). A blocked signal
    /// stays pending until the mask allows it.
    /// </summary>
    public void SendSignal(int sig)
    {
        ulong bit = 1UL << (sig - 1);
        if ((SignalMask & bit) != 0 && sig != Signal.SIGKILL && sig != Signal.SIGSTOP)
        {
            PendingSignals |= bit;
            return;
        }

        ApplySignal(sig);
    }

    /// <summary>Acts on pending signals that the mask no longer blocks.</summary>
    public void DeliverUnblockedPending()
    {
        ulong ready = PendingSignals & ~SignalMask;
        for (int sig = 1; ready != 0 && sig <= Signal.SIGRTMAX && Exit == null; sig++)
        {
            ulong bit = 1UL << (sig - 1);
            if ((ready & bit) != 0)
            {
                PendingSignals &= ~bit;
                ready &= ~bit;
                ApplySignal(sig);
            }
        }
    }

    // Applies the signal's action. Handlers are not delivered yet (no signal frames): the task is told
    // so on stderr and gets the default action, which is what an unhandled signal would do.
    private void ApplySignal(int sig)
    {
        SignalAction act = Group.SignalActions[sig];
        if (act.Handler == SignalAction.SIG_IGN && sig != Signal.SIGKILL && sig != Signal.SIGSTOP)
        {
            return;
        }

        if (IsDefaultIgnored(sig))
        {
            return;
        }

        if (act.Handler != SignalAction.SIG_DFL && sig != Signal.SIGKILL && sig != Signal.SIGSTOP)
        {
            Kernel.Log.WriteLine($"moat: pid {Tid} has a handler for {Signal.Name(sig)}, but signal delivery is not implemented yet; applying the default action");
        }

        if (sig is Signal.SIGSTOP or Signal.SIGTSTP or Signal.SIGTTIN or Signal.SIGTTOU)
        {
            Kernel.Log.WriteLine($"moat: pid {Tid}: job-control stop by {Signal.Name(sig)} is not implemented yet; the signal is ignored");
            return;
        }

        if (sig != Signal.SIGKILL && sig != Signal.SIGTERM && sig != Signal.SIGINT && sig != Signal.SIGPIPE)
        {
            Kernel.Log.WriteLine($"moat: pid {Tid} ({Group.ExecutablePath}) killed by {Signal.Name(sig)}");
        }

        RequestExit(ExitStatus.Killed(sig));
    }

    /// <summary>Whether a signal's default action is to do nothing.</summary>
    public static bool IsDefaultIgnored(int sig) => sig is Signal.SIGCHLD or Signal.SIGURG or Signal.SIGWINCH or Signal.SIGCONT;

    /// <summary>Whether a signal's default action is to terminate with a core dump.</summary>
    public static bool DefaultActionDumpsCore(int sig) => sig switch
    {
        Signal.SIGQUIT or Signal.SIGILL or Signal.SIGTRAP or Signal.SIGABRT or Signal.SIGBUS or Signal.SIGFPE or
        Signal.SIGSEGV or Signal.SIGXCPU or Signal.SIGXFSZ or Signal.SIGSYS => true,
        _ => false,
    };

    private static string DescribeCode(int sig, int code) => (sig, code) switch
    {
        (Signal.SIGSEGV, SigInfo.SEGV_MAPERR) => "SEGV_MAPERR",
        (Signal.SIGSEGV, SigInfo.SEGV_ACCERR) => "SEGV_ACCERR",
        (Signal.SIGBUS, 2) => "BUS_ADRERR",
        (Signal.SIGILL, 2) => "ILL_ILLOPN",
        (Signal.SIGFPE, 1) => "FPE_INTDIV",
        _ => "code " + code,
    };
}
