using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>Signals: queueing, masks, default actions, and delivery to handlers.</summary>
internal sealed partial class Task
{
    private const ulong UnblockableMask = (1UL << (Signal.SIGKILL - 1)) | (1UL << (Signal.SIGSTOP - 1));

    private readonly Lock _sigMu = new();

    // Protected by _sigMu.
    private ulong _pending;
    private ulong _mask;
    private readonly SigInfo[] _pendingInfo = new SigInfo[Signal.SIGRTMAX + 1];

    // Real-time signals queue: each send is one delivery. _pendingInfo holds the first of a signal, this its
    // later instances, in order. Protected by _sigMu. Bounded as Linux bounds them (RLIMIT_SIGPENDING).
    private System.Collections.Generic.Queue<SigInfo>?[]? _rtQueued;
    private int _rtQueuedCount;
    private const int MaxQueuedRealtime = 4096;

    /// <summary>The signal mask (bit n-1 for signal n).</summary>
    public ulong SignalMask
    {
        get
        {
            lock (_sigMu)
            {
                return _mask;
            }
        }

        set
        {
            lock (_sigMu)
            {
                _mask = value & ~UnblockableMask;
            }
        }
    }

    /// <summary>The mask rt_sigsuspend replaced: the handler's frame saves it, so sigreturn restores it.</summary>
    public ulong? SavedMaskForSigsuspend { get; set; }

    /// <summary>Signals queued to this task (bit n-1 for signal n).</summary>
    public ulong PendingSignals
    {
        get
        {
            lock (_sigMu)
            {
                return _pending;
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="sig"/> for this task (from any thread) and kicks the task so it acts on it:
    /// out of a blocking wait, or out of application code.
    /// </summary>
    public void SendSignal(int sig, in SigInfo info)
    {
        // Job control acts when the signal is sent, whatever its action or mask (Linux's prepare_signal).
        bool isStop = ((1UL << (sig - 1)) & Kernel.StopSignalMask) != 0;
        if (isStop)
        {
            Kernel.DiscardPendingContinue(Group);
        }

        bool accepted = Enqueue(sig, info, out bool queued);
        if (sig == Signal.SIGCONT)
        {
            // After queueing: a task that resumes finds its SIGCONT handler already due.
            Kernel.ContinueGroup(Group);
        }

        if (queued)
        {
            SignalQueued.Notify();
        }

        if (accepted)
        {
            Wake();
            Context.Interrupt();
        }
    }

    // Queues the signal unless the task has exited or ignores it. Returns whether it is pending now;
    // queued says whether it was not pending before.
    private bool Enqueue(int sig, in SigInfo info, out bool queued)
    {
        queued = false;
        lock (_sigMu)
        {
            if (Exit != null)
            {
                return false;
            }

            // Like Linux's sig_ignored(): an unblocked signal whose action is to ignore it is dropped here,
            // so it never interrupts a sleep; a traced task keeps it, for its tracer to see.
            ulong bit = 1UL << (sig - 1);
            SignalAction act = Group.SignalActions[sig];
            bool ignored = sig != Signal.SIGKILL && (act.Handler == SignalAction.SIG_IGN || (act.Handler == SignalAction.SIG_DFL && IsDefaultIgnored(sig)));
            if (ignored && (_mask & bit) == 0 && _tracer == null)
            {
                return false;
            }

            if ((_pending & bit) == 0)
            {
                _pending |= bit;
                _pendingInfo[sig] = info;
                queued = true;
            }
            else if (sig >= Signal.SIGRTMIN && _rtQueuedCount < MaxQueuedRealtime)
            {
                _rtQueued ??= new System.Collections.Generic.Queue<SigInfo>?[Signal.SIGRTMAX + 1];
                (_rtQueued[sig] ??= new()).Enqueue(info);
                _rtQueuedCount++;
                queued = true;
            }

            return true;
        }
    }

    /// <summary>Sends a signal as kill(2) from <paramref name="senderPid"/> would.</summary>
    public void SendSignal(int sig, int senderPid = 0, uint senderUid = 0) =>
        SendSignal(sig, new SigInfo { si_signo = sig, si_code = SigInfo.SI_USER, si_pid = senderPid, si_uid = (int)senderUid });

    /// <summary>Drops a queued signal (MSG_NOSIGNAL undoes the SIGPIPE of a failed send).</summary>
    public void DiscardPending(int sig)
    {
        lock (_sigMu)
        {
            _pending &= ~(1UL << (sig - 1));
            DropQueuedLocked(1UL << (sig - 1));
        }
    }

    /// <summary>Drops every queued signal in <paramref name="mask"/> (bit n-1 for signal n).</summary>
    public void DiscardPendingMask(ulong mask)
    {
        lock (_sigMu)
        {
            _pending &= ~mask;
            DropQueuedLocked(mask);
        }
    }

    // Takes the pending instance of sig: the next queued real-time instance stays pending behind it.
    private SigInfo TakePendingLocked(int sig)
    {
        SigInfo info = _pendingInfo[sig];
        if (_rtQueued?[sig] is { Count: > 0 } q)
        {
            _pendingInfo[sig] = q.Dequeue();
            _rtQueuedCount--;
        }
        else
        {
            _pending &= ~(1UL << (sig - 1));
        }

        return info;
    }

    private void DropQueuedLocked(ulong mask)
    {
        if (_rtQueued == null)
        {
            return;
        }

        for (int sig = Signal.SIGRTMIN; sig <= Signal.SIGRTMAX; sig++)
        {
            if ((mask & (1UL << (sig - 1))) != 0 && _rtQueued[sig] is { } q)
            {
                _rtQueuedCount -= q.Count;
                q.Clear();
            }
        }
    }

    /// <summary>
    /// Takes the lowest-numbered queued signal in <paramref name="mask"/> without delivering it (signalfd,
    /// rt_sigtimedwait).
    /// </summary>
    public bool TryDequeue(ulong mask, out SigInfo info)
    {
        lock (_sigMu)
        {
            ulong ready = _pending & mask;
            if (ready == 0)
            {
                info = default;
                return false;
            }

            int sig = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
            info = TakePendingLocked(sig);
            info.si_signo = sig;
            return true;
        }
    }

    /// <summary>Whether a queued signal is unblocked (and would interrupt a blocking wait).</summary>
    public bool HasDeliverableSignal()
    {
        lock (_sigMu)
        {
            return (_pending & ~_mask) != 0;
        }
    }

    // Acts on pending unblocked signals before returning to the app: ignored ones are dropped, default
    // actions applied, and a handler frame pushed for each signal still deliverable under the mask the
    // previous handler set up. A syscall that must restart is rewound.
    private void HandleSignals(long syscallResult)
    {
        bool restartable = syscallResult is <= -512 and >= -516;
        while (Exit == null)
        {
            if (Kernel.Frozen && !KillPending())
            {
                WaitWhileFrozen();
                continue;
            }

            if (Tracer != null && PtraceCheckInterrupt())
            {
                continue;
            }

            if (Group.StopSignal == 0)
            {
                _groupStopTaken = false;
            }
            else if (!KillPending())
            {
                if (Tracer == null)
                {
                    WaitWhileStopped();
                    continue;
                }

                if (!_groupStopTaken)
                {
                    PtraceGroupStop();
                    continue;
                }
            }

            int sig;
            SigInfo info;
            lock (_sigMu)
            {
                ulong ready = _pending & ~_mask;
                if (ready == 0)
                {
                    break;
                }

                sig = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
                info = TakePendingLocked(sig);
            }

            if (sig != Signal.SIGKILL && Tracer != null)
            {
                sig = PtraceSignalStop(sig, ref info);
                if (sig == 0)
                {
                    continue;
                }
            }

            SignalAction act = Group.SignalActions[sig];
            if (sig != Signal.SIGKILL && act.Handler == SignalAction.SIG_IGN)
            {
                continue;
            }

            if (sig == Signal.SIGKILL || act.Handler == SignalAction.SIG_DFL)
            {
                ApplyDefaultAction(sig);
                continue;
            }

            // A handler: decide the interrupted syscall's fate, then build the frame.
            if (restartable)
            {
                bool restart = syscallResult == -Errno.ERESTARTNOINTR.Value ||
                    (syscallResult == -Errno.ERESTARTSYS.Value && (act.Flags & SignalAction.SA_RESTART) != 0);
                if (restart)
                {
                    RewindSyscall(syscallResult);
                }
                else
                {
                    _regs.rax = unchecked((ulong)-Errno.EINTR.Value);
                }

                restartable = false;
            }

            // As Linux does on the way back to user mode, go on with the next deliverable signal: its frame goes
            // on top, so it runs first and returns into this handler's entry (the handled signal is now masked).
            DeliverToHandler(sig, info, act);
        }

        if (restartable && Exit == null)
        {
            // No handler ran: the call starts again as if nothing happened.
            RewindSyscall(syscallResult);
        }

        if (SavedMaskForSigsuspend is ulong saved)
        {
            SignalMask = saved;
            SavedMaskForSigsuspend = null;
        }
    }

    // A call that answered ERESTART_RESTARTBLOCK goes on through restart_syscall (its SyscallRestart) rather
    // than from the start: a sleep keeps its first deadline.
    private void RewindSyscall(long syscallResult)
    {
        _regs.rip -= 2;
        _regs.rax = syscallResult == -Errno.ERESTART_RESTARTBLOCK.Value ? Sysno.restart_syscall : _regs.orig_rax;
    }

    private void ApplyDefaultAction(int sig)
    {
        if (IsDefaultIgnored(sig))
        {
            return;
        }

        if (((1UL << (sig - 1)) & Kernel.StopSignalMask) != 0)
        {
            if (Kernel.StopsGroup(Group, sig))
            {
                Kernel.BeginGroupStop(this, sig);
            }

            return;
        }

        Kernel.ExitGroup(this, ExitStatus.Killed(sig));
    }

    private void HandleHostSignal(in SigInfo info, long faultErrorCode)
    {
        int sig = info.si_signo;
        bool synchronous = info.si_code > 0 &&
            sig is Signal.SIGSEGV or Signal.SIGBUS or Signal.SIGFPE or Signal.SIGILL or Signal.SIGTRAP or Signal.SIGSYS;
        if (!synchronous)
        {
            // Not caused by the app's own instruction (sent by another host process, or by the host kernel
            // for its own reasons): nothing of the app's. Ignore it.
            return;
        }

        if (sig == Signal.SIGSEGV && info.si_code == SigInfo.SI_KERNEL)
        {
            // A general-protection fault (hlt, a privileged or non-canonical access, int N without a gate), not a
            // page fault: no memory to give, and the app sees what Linux's do_general_protection reports.
            _generalProtectionError = faultErrorCode >= 0 ? faultErrorCode : SoftwareInterruptError();
            ForceSignal(Signal.SIGSEGV, SigInfo.SI_KERNEL, 0);
            return;
        }

        if (sig == Signal.SIGSEGV)
        {
            int code = MM.HandleFault(info.si_addr, info.si_code == SigInfo.SEGV_ACCERR, _regs.rip, out Mm.IUserfaultHandler? userfault);
            if (userfault != null)
            {
                // A missing page of a userfaultfd's range: wait for its handler, then retry the access.
                code = (int)userfault.WaitForPage(info.si_addr, FaultIsWrite(info.si_addr, faultErrorCode), user: true);
            }

            if (code == 0)
            {
                return;
            }

            if (code == -Signal.SIGKILL)
            {
                Kernel.Log.WriteLine($"moat: pid {Tid} ({Group.ExecutablePath}) killed: the sandbox's memory limit (--memory) is reached");
                Kernel.KillMemoryUsers(this);
                return;
            }

            if (code < 0)
            {
                const int BusAdrErr = 2; // the only SIGBUS a fault gives: no backing for the address
                ForceSignal(-code, -code == Signal.SIGBUS ? BusAdrErr : SigInfo.SI_KERNEL, info.si_addr);
                return;
            }

            ForceSignal(Signal.SIGSEGV, code, info.si_addr);
            return;
        }

        if (sig == Signal.SIGTRAP)
        {
            PtraceSingleStepTrapped();
        }

        ForceSignal(sig, info.si_code, info.si_addr);
    }

    // The error code of the #GP behind the SIGSEGV being delivered (the frame's err, with trapno 13), or -1 when
    // the SIGSEGV is not one. Set and read on the task's own thread.
    private long _generalProtectionError = -1;

    // Where the platform does not report the #GP's error code (ptrace): an `int N` without a gate faults with
    // the IDT entry's selector error code, (N << 3) | 2; any other #GP the app can cause reports 0.
    private long SoftwareInterruptError() =>
        MM.CopyIn(_regs.rip, out ushort insn) == 0 && (byte)insn == 0xCD ? ((long)(insn >> 8) << 3) | 2 : 0;

    /// <summary>
    /// Delivers a signal caused by the app's own instruction (fault, trap, bad opcode). It cannot be
    /// ignored or blocked: if it is, Linux resets it to the default action, and so do we.
    /// </summary>
    private void ForceSignal(int sig, int code, ulong addr) =>
        ForceSignal(new SigInfo { si_signo = sig, si_code = code, si_addr = addr });

    private void ForceSignal(in SigInfo info)
    {
        if (Tracer == null)
        {
            ForceSignalNow(info);
            return;
        }

        // A tracer sees the signal first (gdb's breakpoints and crashes), and may suppress or replace it.
        SigInfo traced = info;
        if (PtraceSignalStop(info.si_signo, ref traced) != 0)
        {
            ForceSignalNow(traced);
        }
    }

    private void ForceSignalNow(in SigInfo info)
    {
        int sig = info.si_signo;
        int code = info.si_code;
        ulong addr = info.si_addr;
        ulong bit = 1UL << (sig - 1);
        SignalAction act = Group.SignalActions[sig];
        bool blocked = (SignalMask & bit) != 0;
        if (blocked || act.Handler == SignalAction.SIG_IGN || act.Handler == SignalAction.SIG_DFL)
        {
            Group.SignalActions[sig] = default;
            Kernel.Log.WriteLine($"moat: pid {Tid} ({Group.ExecutablePath}) killed by {Signal.Name(sig)} ({DescribeCode(sig, code)} at 0x{addr:x}, rip 0x{_regs.rip:x}, rsp 0x{_regs.rsp:x})");
            Kernel.ExitGroup(this, ExitStatus.Killed(sig));
            return;
        }

        lock (_sigMu)
        {
            _pending &= ~bit;
        }

        DeliverToHandler(sig, info, act);
    }

    /// <summary>Whether a signal's default action is to do nothing.</summary>
    public static bool IsDefaultIgnored(int sig) => sig is Signal.SIGCHLD or Signal.SIGURG or Signal.SIGWINCH or Signal.SIGCONT;

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
